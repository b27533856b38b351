/** The command probe against real shell commands. */
import { type ConformanceCase, spec } from "./conformance.js";

const SECRET = "hunter2-command-secret";

export const conformance: ConformanceCase = {
  type: "command",
  async setup() {
    return {
      healthy: spec({ type: "command", run: "echo 42", parse: "number", expect: "< 100" }),
      failing: spec({ type: "command", run: "echo 420", parse: "number", expect: "< 100" }),
      unreachable: spec({ type: "command", run: "no-such-command-gantry --version" }),
      hanging: spec({ type: "command", run: "sleep 30" }),
      secret: {
        spec: spec({ type: "command", run: `echo "login failed for ${SECRET}" >&2; exit 1` }),
        value: SECRET,
      },
      errors: [
        {
          what: "text where a number was expected",
          spec: spec({ type: "command", run: "echo abc", parse: "number" }),
        },
        { what: "not JSON", spec: spec({ type: "command", run: "echo '{oops'", parse: "json" }) },
        {
          what: "a command that failed before printing its number",
          spec: spec({ type: "command", run: "echo 1; exit 2", parse: "number" }),
        },
      ],
    };
  },
};
