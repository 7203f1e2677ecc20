// `entrypoint.js init-secrets DIR`: compose's one-shot `secrets` service. Makes the Redis password
// the first time (32 random hex digits, or REDIS_PASSWORD when the compose env file sets one) and
// writes, into DIR (a named volume only Redis and the apps mount):
//   redis-password   the password, read by the apps (LLM_REDIS_PASSWORD_FILE)
//   redis.conf       Redis's config: requirepass, the append-only file in /data, snapshots
// An existing password is kept across `up`s (Redis' data stays readable); a REDIS_PASSWORD that
// differs replaces it. Files are 0644: the volume is private to these containers, and Redis and the
// apps run as different users.
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function main(args) {
  const dir = args[0];
  if (!dir) {
    process.stderr.write('usage: init-secrets DIR\n');
    process.exit(2);
  }
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'redis-password');
  const given = (process.env.REDIS_PASSWORD ?? '').trim();
  if (/\s/.test(given)) {
    process.stderr.write('init-secrets: REDIS_PASSWORD must not contain whitespace\n');
    process.exit(2);
  }
  let password = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
  const source = given ? 'REDIS_PASSWORD' : password ? 'kept' : 'generated';
  if (given) password = given;
  if (!password) password = crypto.randomBytes(24).toString('hex');
  const conf = ['# written by init-secrets', `requirepass ${password}`, 'appendonly yes', 'save 60 1000', 'dir /data', ''].join('\n');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'redis.conf'), conf, { mode: 0o644 });
  fs.chmodSync(file, 0o644);
  fs.chmodSync(path.join(dir, 'redis.conf'), 0o644);
  process.stdout.write(`init-secrets: Redis password ${source} (${dir})\n`);
}

module.exports = { main };
