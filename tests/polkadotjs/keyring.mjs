// polkadot.js's side of the keystore interop tests: reads one JSON request on standard
// input, writes one JSON answer on standard output. Secrets travel on stdin, never argv.
//
//   {"op": "create", "uri", "password", "name"}      -> {"address", "json"}  (addFromUri + toJson)
//   {"op": "sign_json", "json", "password", "message", "unlock"}
//                                                    -> {"address", "signature"}  (addFromJson)
//   {"op": "verify", "message", "signature", "address"} -> {"isValid", "crypto"}
//   {"op": "addresses", "uris"}                      -> {"addresses"}  (createFromUri)
//
// Messages and signatures are 0x hex.
import { Keyring } from '@polkadot/keyring';
import { u8aToHex } from '@polkadot/util';
import { cryptoWaitReady, signatureVerify } from '@polkadot/util-crypto';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = JSON.parse(Buffer.concat(chunks).toString('utf8'));

await cryptoWaitReady();
const keyring = new Keyring({ type: 'sr25519', ss58Format: 42 });

function answer(request) {
  switch (request.op) {
    case 'create': {
      const pair = keyring.addFromUri(request.uri, { name: request.name });
      return { address: pair.address, json: pair.toJson(request.password) };
    }
    case 'sign_json': {
      const pair = keyring.addFromJson(request.json);
      if (request.unlock) pair.unlock(request.password);
      else pair.decodePkcs8(request.password);
      return { address: pair.address, signature: u8aToHex(pair.sign(request.message)) };
    }
    case 'verify': {
      const { isValid, crypto } = signatureVerify(request.message, request.signature, request.address);
      return { isValid, crypto };
    }
    case 'addresses':
      return { addresses: request.uris.map((uri) => keyring.createFromUri(uri).address) };
    default:
      throw new Error(`unknown op ${request.op}`);
  }
}

try {
  process.stdout.write(JSON.stringify(answer(request)));
} catch (error) {
  process.stdout.write(JSON.stringify({ error: String(error.message || error) }));
  process.exitCode = 1;
}
