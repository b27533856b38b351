/** `npm run schema`: regenerate schema/runbook.v1.json and docs/runbook-reference.md from the declaration. */
import { writeGenerated } from "../src/runbook/schema-file.js";

for (const file of writeGenerated()) process.stdout.write(`wrote ${file}\n`);
