/**
 * Credential-shaped test values, built at run time so no secret-looking
 * literal sits in this repository (and no scanner flags it).
 */
const join = (...parts: string[]) => parts.join('');

const pemBody = join('-----BEGIN', ' RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\n-----END RSA PRIVATE KEY-----\n');

export const tokens = {
  github: join('gh', 'p_', 'a1B2c3D4e5'.repeat(4)),
  githubOauth: join('gh', 'o_', 'Z9y8X7w6V5'.repeat(4)),
  githubPat: join('github', '_pat_', '11ABCDEFG0', '123456789_', 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVW'),
  gitlab: join('gl', 'pat-', 'xYz123AbC456dEf789gH'),
  aws: join('AK', 'IA', 'IOSFODNN7EXAMPL3'),
  awsSecretLine: join('aws_secret', '_access_key = ', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'),
  slack: join('xo', 'xb-', '123456789012-abcdefABCDEF'),
  slackWebhook: join('https://hooks.', 'slack.com/services/', 'T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX'),
  google: join('AI', 'za', 'SyA', 'x1y2z3'.repeat(5), 'ab'),
  googleSecret: join('GOC', 'SPX-', 'a1b2c3d4'.repeat(3), 'wxyz'),
  googleToken: join('ya', '29.', 'a0AfH6SMBx'.repeat(4)),
  stripe: join('sk', '_live_', '4eC39HqLyjWDarjtT1zdp7dc'),
  npm: join('np', 'm_', 'a1b2c3d4e5f6'.repeat(3)),
  pypi: join('pypi-', 'AgEIcHlwaS5vcmc', 'abcdefghij'.repeat(6)),
  huggingface: join('h', 'f_', 'abcdefghij'.repeat(3), 'ABCD'),
  anthropic: join('sk-', 'ant-', 'api03-', 'abcdefghij'.repeat(4)),
  openai: join('sk-', 'proj-', 'abcdefghij'.repeat(2), 'T3Blbk', 'FJ', 'klmnopqrst'.repeat(2)),
  sendgrid: join('S', 'G.', 'a'.repeat(22), '.', 'b'.repeat(43)),
  jwt: ['eyJhbGciOiJIUzI1NiJ9', 'eyJzdWIiOiIxMjM0NTY3ODkwIn0', 'dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'].join('.'),
  postgres: join('postgres', '://app:', 'Sup3rS3cretPw', '@db.internal:5432/app'),
  mongo: join('mongodb+srv', '://svc:', 'Pa55w0rdValue', '@cluster0.example.net/db'),
  adoNet: join('Server=db1;Database=app;User Id=svc;', 'Pass', 'word=', 'Sup3rS3cret', ';'),
  pem: pemBody,
  pemBase64: Buffer.from(pemBody).toString('base64'),
};

export type TokenName = keyof typeof tokens;
