/**
 * A real OpenSSH server for the SSH recipe's tests (Debian's openssh-server, installed by
 * scripts/test-servers.sh): 127.0.0.1, a free port, a temporary folder with its own host key,
 * config and authorized_keys, logins as the user running the tests (root included, with keys
 * only). Resolves once the port accepts connections; stopped by the cleanup.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/exec/port.js";

export const SSHD = "/usr/sbin/sshd";

type Cleanup = (stop: () => unknown) => void;

export interface SshServer {
  port: number;
  /** user@127.0.0.1 */
  host: string;
  /** A known_hosts file with the server's key for [127.0.0.1]:port. */
  knownHosts: string;
  /** The private key that may log in (OpenSSH format). */
  key: string;
  /** A private key that may not. */
  otherKey: string;
}

function keypair(dir: string, name: string): string {
  const file = join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", `gantry-test-${name}`, "-f", file]);
  return file;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

export async function startSshd(cleanup: Cleanup): Promise<SshServer> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `${SSHD} is missing: install openssh-server (scripts/test-servers.sh does; run npm test)`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "gantry-sshd-"));
  cleanup(() => rmSync(dir, { recursive: true, force: true }));
  const hostKey = keypair(dir, "host_key");
  const userKey = keypair(dir, "user_key");
  const otherKey = keypair(dir, "other_key");
  writeFileSync(join(dir, "authorized_keys"), readFileSync(`${userKey}.pub`));
  const root = process.getuid?.() === 0;
  // As root, sshd wants its privilege separation folder.
  if (root) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const user = userInfo().username;

  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, `sshd_config.${port}`);
    writeFileSync(
      config,
      [
        "ListenAddress 127.0.0.1",
        `Port ${port}`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${join(dir, "authorized_keys")}`,
        `PidFile ${join(dir, `sshd.${port}.pid`)}`,
        "StrictModes no",
        "UsePAM no",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        `PermitRootLogin ${root ? "prohibit-password" : "no"}`,
        `AllowUsers ${user}`,
        "LogLevel ERROR",
        "",
      ].join("\n"),
    );
    const child: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr?.on("data", (c: Buffer) => {
      stderr += c.toString("utf8");
    });
    let exited = false;
    child.on("exit", () => {
      exited = true;
    });
    const deadline = Date.now() + 10_000;
    while (!exited && Date.now() < deadline && !(await accepting(port))) {
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!exited && (await accepting(port))) {
      cleanup(
        () =>
          new Promise<void>((resolve) => {
            if (exited) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      );
      const knownHosts = join(dir, "known_hosts");
      writeFileSync(knownHosts, `[127.0.0.1]:${port} ${readFileSync(`${hostKey}.pub`, "utf8")}`);
      return {
        port,
        host: `${user}@127.0.0.1`,
        knownHosts,
        key: readFileSync(userKey, "utf8"),
        otherKey: readFileSync(otherKey, "utf8"),
      };
    }
    child.kill("SIGKILL");
    if (attempt >= 3 || !/Address already in use|Bind to port/i.test(stderr)) {
      throw new Error(`sshd did not start on 127.0.0.1:${port}: ${stderr.trim() || "no output"}`);
    }
  }
}
