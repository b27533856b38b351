/** `npm run schema`: regenerate schema/runbook.v1.json from the declaration. */
import { writeSchema } from "../src/runbook/schema-file.js";

process.stdout.write(`wrote ${writeSchema()}\n`);
