// ${{ values.name }}: ${{ values.description }}
//
// The control plane runs this service as a web application next to its MySQL database and
// Redis cache; the platform hands it their connection details as DATABASE_URL and REDIS_URL.
const http = require('node:http');

const port = Number(process.env.PORT ?? 8080);

const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      service: '${{ values.name }}',
      database: process.env.DATABASE_URL ? 'configured' : 'missing',
      cache: process.env.REDIS_URL ? 'configured' : 'missing',
    }),
  );
});

server.listen(port, () => {
  process.stdout.write(`${{ values.name }} listening on :${port}\n`);
});
