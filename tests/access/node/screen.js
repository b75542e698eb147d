// One Screen call from Node.js (@grpc/grpc-js), over mutual TLS when given a certificate.
// Usage: node screen.js REQUEST.json; the request file names the target, the proto
// include folders, the PEM files and the call. Prints the outcome as one JSON line.
"use strict";

const fs = require("fs");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const call = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const definition = protoLoader.loadSync("departure_screening/v1/screening.proto", {
  includeDirs: call.include_dirs,
  keepCase: true,
  enums: String,
  longs: String,
  defaults: false,
});
const v1 = grpc.loadPackageDefinition(definition).departure_screening.v1;

const read = (path) => (path ? fs.readFileSync(path) : null);
const credentials = grpc.credentials.createSsl(
  read(call.ca),
  read(call.key),
  read(call.cert),
);
const client = new v1.ScreeningService(call.target, credentials);
const metadata = new grpc.Metadata();
if (call.token) {
  metadata.add("authorization", `Bearer ${call.token}`);
}
const deadline = new Date(Date.now() + 20000);

client.Screen(call.request, metadata, { deadline }, (error, response) => {
  if (error) {
    console.log(JSON.stringify({ ok: false, code: error.code, details: error.details }));
  } else {
    console.log(JSON.stringify({ ok: true, assessment: response.assessment }));
  }
  client.close();
});
