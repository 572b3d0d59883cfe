// The OTLP/HTTP endpoint of the traced receiver rows (its own process): takes POST /v1/traces
// as a collector would and answers 200 {}, counting the spans ("spanId" keys of the OTLP JSON)
// without decoding them, so it costs the machine little (protobuf exports are answered and
// counted as exports and bytes, their spans not). GET /count answers
// {"exports":…,"spans":…,"bytes":…}. Prints {"msg":"listening","url":...}.
import { createServer } from 'node:http';

const SPAN_ID = Buffer.from('"spanId"');
const counts = { exports: 0, spans: 0, bytes: 0 };

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    counts.exports++;
    counts.bytes += body.length;
    if ((req.headers['content-type'] ?? '').startsWith('application/x-protobuf')) {
      // OTLP/HTTP protobuf: an empty ExportTraceServiceResponse is no bytes; spans are not counted.
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      return;
    }
    for (let at = body.indexOf(SPAN_ID); at >= 0; at = body.indexOf(SPAN_ID, at + SPAN_ID.length)) counts.spans++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ msg: 'listening', url: `http://127.0.0.1:${server.address().port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
