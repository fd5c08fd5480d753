// Verifies callbacks that jobcall really sent with the official npm
// `standardwebhooks` library. Reads [{secret, headers, body}, ...] from the
// file named on the command line; exits non-zero on the first failure.
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const deliveries = JSON.parse(readFileSync(process.argv[2], "utf8"));
for (const delivery of deliveries) {
  const payload = new Webhook(delivery.secret).verify(delivery.body, delivery.headers);
  if (payload.type !== JSON.parse(delivery.body).type) {
    throw new Error(`verified payload differs from the body: ${JSON.stringify(payload)}`);
  }
}
console.log(`npm standardwebhooks verified ${deliveries.length} callbacks`);
