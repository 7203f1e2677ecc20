/*
 * A varied test corpus: prose, code, many scripts, emoji (ZWJ sequences, flags, skin
 * tones), whitespace runs, numbers, contractions, special-token-like strings, and the
 * characters where regex engines disagree (U+0085, U+FEFF, U+00A0, lone surrogates).
 */

export const CORPUS: string[] = [
  'Hello world',
  "The quick brown fox jumps over the lazy dog. It's 3:45pm, isn't it? I'm sure they'll've gone; we'd LL'VE",
  "DON'T SHOUT, He'S hERE's 'tis 'S 'T",
  'function add(a, b) {\n  return a + b; // sum\n}\n\nconst x = [1, 2, 3].map((v) => v * 2);\n',
  'def f(x):\n\tif x > 0:\n\t\treturn x ** 2\n\treturn -x\n',
  '    indented\n        more\n\n\n\nlines   \n\t\t\n  \r\n\r\n',
  'trailing spaces   ',
  '   leading spaces',
  '12345678901234567890 3.14159 1,000,000 0x1F 1e-10 ١٢٣٤٥ ४५६',
  '日本語のテキストです。東京は大きい都市です。',
  '中文文本测试，包括标点符号！',
  '한국어 텍스트 테스트입니다.',
  'Русский текст с пунктуацией: «ёлки-палки»!',
  'Ελληνικά κείμενα και ΚΕΦΑΛΑΙΑ',
  'العربية نص تجريبي مع أرقام ١٢٣',
  'עברית טקסט',
  'हिन्दी पाठ परीक्षण के लिए',
  'ภาษาไทยไม่มีช่องว่าง',
  'Tiếng Việt có dấu: Đường phố',
  'Ünïcödé àccénts çà et là, naïve café, straße, ǅ ǈ ǋ ǲ Dž',
  'emoji 🎉🎉 👨‍👩‍👧‍👦 family 🇫🇷🇯🇵 flags 👍🏽 skin ❤️ heart',
  '😀😃😄😁😆😅🤣😂🙂🙃😉😊😇',
  '<|endoftext|> is special, <|fim_prefix|><|fim_middle|><|fim_suffix|> <|endofprompt|>',
  '<|im_start|>user\nhi<|im_end|> <s> </s> [INST] <<SYS>>',
  'mixed\u0085next\u00a0nbsp\ufeffbom\u2028ls\u3000ideo\u200bzwsp',
  '\t\t\t\t', '\n', ' ', '', '  \n  \n', 'a\r\nb\rc',
  'CamelCaseWordsAndHTTPServer XMLHttpRequest iPhone',
  "''''''' ''s '' 's",
  'https://example.com/path/to/file?query=1&b=2#frag user@example.com',
  '!!!???...,,,;;;:::---___===+++***&&&%%%$$$###@@@^^^~~~```|||\\\\\\///',
  '/* comment */ // slash / and // double /n',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '0000000000000000000000000000000000000000000000',
  'ab'.repeat(200),
  'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß àáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ',
  'x\u0301 e\u0301 combining\u0308 marks \u0915\u094d\u0937',
  '𝕳𝖊𝖑𝖑𝖔 𝒲ℴ𝓇𝓁𝒹 math alphanumerics',
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.',
];

/** Strings with lone surrogates (encoded by tiktoken as U+FFFD). */
export const SURROGATES: string[] = ['bad \ud800 high', 'low \udc00 alone', 'pair \ud83d\ude00 ok, reversed \ude00\ud83d'];

/** Alphabet for random strings: one of each interesting character class. */
export const ALPHABET = [
  'a', 'b', 'Z', 'é', 'ß', 'ǅ', 'ж', 'Ж', '中', 'の', 'ا', '1', '9', '٣', '½', ' ', ' ', '  ', '\t', '\n', '\r', '\u0085',
  '\u00a0', '\ufeff', '\u3000', "'", "'s", "'T", "'ll", '.', ',', '!', '?', '-', '/', '\\', '(', '"', '#', '@', '_', '🎉',
  '👍🏽', '\u0301', '\u200d', 'A', 'x', '<|endoftext|>', '<', '|', '>', 'é', '\u0915\u094d', 'ſ', "'ſ", 'ǅ', '\u0300', '/',
];
