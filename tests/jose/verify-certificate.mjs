// Verifies a Consilium consensus certificate with the `jose` library, independently of the
// server: node verify-certificate.mjs CERTIFICATE_FILE JWKS_FILE ANSWER_FILE
// Prints one JSON line: {"valid": bool, "reason": "..."}. Exit status 0 either way.
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { compactVerify, createLocalJWKSet } from "jose";

const [certificateFile, jwksFile, answerFile] = process.argv.slice(2);
const certificate = readFileSync(certificateFile, "utf8").trim();
const jwks = createLocalJWKSet(JSON.parse(readFileSync(jwksFile, "utf8")));
const answer = readFileSync(answerFile, "utf8");

try {
  const { payload, protectedHeader } = await compactVerify(certificate, jwks, {
    algorithms: ["EdDSA"],
  });
  const statement = JSON.parse(new TextDecoder().decode(payload));
  const digest = createHash("sha256").update(answer, "utf8").digest("hex");
  if (statement._type !== "https://in-toto.io/Statement/v1") {
    console.log(JSON.stringify({ valid: false, reason: "not an in-toto statement" }));
  } else if (statement.subject[0].digest.sha256 !== digest) {
    console.log(JSON.stringify({ valid: false, reason: "the answer does not match" }));
  } else if (Date.parse(statement.predicate.expires_at) <= Date.now()) {
    console.log(JSON.stringify({ valid: false, reason: "expired" }));
  } else {
    console.log(JSON.stringify({ valid: true, kid: protectedHeader.kid, status: statement.predicate.status }));
  }
} catch (error) {
  console.log(JSON.stringify({ valid: false, reason: String(error.code || error.message) }));
}
