/** The dns probe against DNS servers on loopback (dns2, and UDP sockets that misbehave). */
import {
  closedDnsPort,
  garbageDnsServer,
  silentDnsServer,
  startDnsServer,
} from "../../test/helpers/dns-server.js";
import { CONFORMANCE_TIMEOUT, type ConformanceCase, spec } from "./conformance.js";

const SECRET = "s3cr3t-verification-token";

export const conformance: ConformanceCase = {
  type: "dns",
  async setup(cleanup) {
    const zone = await startDnsServer({
      "app.example.test": { A: ["10.0.0.1", "10.0.0.2"] },
      "broken.example.test": "SERVFAIL",
    });
    cleanup(zone.close);
    const silent = await silentDnsServer();
    cleanup(silent.close);
    const garbage = await garbageDnsServer();
    cleanup(garbage.close);
    const dns = (server: string, name: string, expect = ["10.0.0.1"], timeout = "5s") =>
      spec({ type: "dns", name, record: "A", expect, server, timeout });
    return {
      healthy: dns(zone.address, "app.example.test"),
      failing: dns(zone.address, "app.example.test", ["10.0.0.9"]),
      unreachable: dns(`127.0.0.1:${await closedDnsPort()}`, "app.example.test"),
      hanging: dns(silent.address, "app.example.test", ["10.0.0.1"], CONFORMANCE_TIMEOUT),
      // The name holds the secret (a verification token): NXDOMAIN names it.
      secret: { spec: dns(zone.address, `${SECRET}.example.test`), value: SECRET },
      errors: [
        { what: "a server that answers with garbage", spec: dns(garbage.address, "app.example.test") },
        { what: "a resolver failure (SERVFAIL)", spec: dns(zone.address, "broken.example.test") },
        { what: "a bad name", spec: dns(zone.address, "bad..name") },
        { what: "a server given by name", spec: dns("dns.example.test:53", "app.example.test") },
      ],
    };
  },
};
