/**
 * A short list of very common passwords of 8 characters or more, of the kind found at the
 * top of public breach-derived lists (shorter ones are refused by length anyway).
 * NIST SP 800-63B §5.1.1.2 asks to refuse passwords found in such lists. Lower case.
 */
export const COMMON_PASSWORDS: ReadonlySet<string> = new Set([
  '12345678', '123456789', '1234567890', '12345678910', '123123123', '11111111', '00000000', '87654321',
  '88888888', '11223344', '12341234', '123qweasd', '1q2w3e4r', '1q2w3e4r5t', '1qaz2wsx', 'qwertyui',
  'password', 'password1', 'password12', 'password123', 'passw0rd', 'p@ssw0rd', 'p@ssword', 'qwerty123',
  'qwertyuiop', 'qwerty12', 'qwerty1234', 'iloveyou', 'iloveyou1', 'sunshine', 'princess', 'football',
  'baseball', 'welcome1', 'welcome123', 'abc12345', 'abcd1234', 'abcdefgh', 'letmein1', 'trustno1',
  'superman', 'starwars', 'whatever', 'michelle', 'jennifer', 'computer', 'corvette', 'mercedes',
  'mustang1', 'internet', 'asdfghjkl', 'asdfasdf', 'zxcvbnm1', 'zaq12wsx', 'q1w2e3r4', 'q1w2e3r4t5',
  'changeme', 'changeme1', 'administrator', 'admin123', 'admin1234', 'letmein123', 'monkey123',
  'dragon123', 'master123', 'shadow123', 'football1', 'baseball1', 'liverpool', 'chelsea1', 'arsenal1',
  'blink182', 'pokemon1', 'samsung1', 'samantha', 'jordan23', 'butterfly', 'chocolate', 'elephant',
  'basketball', 'anthony1', 'nicholas', 'danielle', 'alexander', 'victoria', 'spiderman', 'midnight',
  'mountain', 'michael1', 'charlie1', 'jessica1', 'thomas123', 'batman123', 'hello123', 'freedom1',
  'secret123', 'flower123', 'loveyou1', 'lovely123', 'qazwsxedc', '1qazxsw2', '147258369', '987654321',
  '741852963', '159753456', '123654789', 'aaaaaaaa', 'default1', 'test1234', 'testtest', 'strongroom',
]);
