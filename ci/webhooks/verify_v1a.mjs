// Verifies the `v1a` (ed25519) signatures of callbacks that jobcall really
// sent, with Node's own crypto (OpenSSL), independent of jobcall's. The
// official npm `standardwebhooks` (1.1.1) knows only `v1` and skips `v1a`.
// Reads [{public_key, secret, headers, body}, ...] from the file named on the
// command line; exits non-zero on the first failure.
import { createPublicKey, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { Webhook } from "standardwebhooks";

const TOLERANCE_SECONDS = 5 * 60;

function verifyV1a(publicKey, headers, body) {
  const raw = Buffer.from(publicKey.replace(/^whpk_/, ""), "base64");
  const key = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") },
    format: "jwk",
  });
  const timestamp = Number(headers["webhook-timestamp"]);
  if (Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS) return false;
  const content = Buffer.from(`${headers["webhook-id"]}.${timestamp}.${body}`);
  return headers["webhook-signature"].split(" ").some((signature) => {
    const [version, value] = signature.split(",");
    return version === "v1a" && verify(null, content, key, Buffer.from(value, "base64"));
  });
}

const deliveries = JSON.parse(readFileSync(process.argv[2], "utf8"));
let officialSkipped = 0;
for (const { public_key, secret, headers, body } of deliveries) {
  if (!verifyV1a(public_key, headers, body)) throw new Error(`not verified: ${JSON.stringify(headers)}`);
  if (verifyV1a(public_key, headers, body + " ")) throw new Error("a changed body verified");
  const schemes = headers["webhook-signature"].split(" ").map((s) => s.split(",")[0]);
  if (schemes.includes("v1")) {
    new Webhook(secret).verify(body, headers);
  } else {
    let verified = false;
    try {
      new Webhook(secret).verify(body, headers);
      verified = true;
    } catch {
      officialSkipped += 1;
    }
    if (verified) throw new Error("the official library verified a header without v1");
  }
}
console.log(
  `node crypto verified ${deliveries.length} v1a callbacks; standardwebhooks skipped the ${officialSkipped} with only v1a`,
);
