// A file that is not text would be replayed as lines of garbage: its first bytes are checked for what text never
// holds (a NUL byte, bytes that are not UTF-8), and what it looks like is named by its magic number.

/** What a kind of file starts with, what to call it, and how to get records out of it. */
interface Magic {
  bytes: number[];
  /** Where the bytes are: tar's mark is not at the start. */
  at?: number;
  looksLike: string;
  howToRead: (name: string) => string;
}

const ascii = (text: string) => [...text].map((c) => c.charCodeAt(0));
const unpack = (tool: string) => (name: string) => `Decompress it first: \`${tool} ${name} | pbx replay - ...\`.`;

const MAGICS: Magic[] = [
  {
    bytes: ascii('PK\x03\x04'),
    looksLike: 'a zip archive (an .xlsx, .docx or .jar is one too)',
    howToRead: (name) =>
      `Replay a file from inside it: \`unzip -l ${name}\` lists them, \`unzip -p ${name} FILE | pbx replay - ...\` reads one.`,
  },
  {
    bytes: ascii('PAR1'),
    looksLike: 'a Parquet file',
    howToRead: (name) =>
      `Convert it to NDJSON first, e.g. \`duckdb -c "COPY '${name}' TO 'data.json' (FORMAT json)"\`.`,
  },
  { bytes: [0x89, ...ascii('PNG\r\n\x1a\n')], looksLike: 'a PNG image', howToRead: () => 'Give pbx a text dataset.' },
  { bytes: [0xff, 0xd8, 0xff], looksLike: 'a JPEG image', howToRead: () => 'Give pbx a text dataset.' },
  { bytes: ascii('GIF8'), looksLike: 'a GIF image', howToRead: () => 'Give pbx a text dataset.' },
  { bytes: ascii('%PDF-'), looksLike: 'a PDF document', howToRead: () => 'Give pbx a text dataset.' },
  { bytes: [0x7f, ...ascii('ELF')], looksLike: 'a program (ELF)', howToRead: () => 'Give pbx a text dataset.' },
  {
    bytes: ascii('SQLite format 3\0'),
    looksLike: 'an SQLite database',
    howToRead: (name) => `Export a table: \`sqlite3 -json ${name} "SELECT * FROM T" > data.json\`.`,
  },
  {
    bytes: ascii('Obj\x01'),
    looksLike: 'an Avro file',
    howToRead: (name) => `Convert it to JSON first: \`avro-tools tojson ${name} > data.json\`.`,
  },
  { bytes: ascii('ORC'), looksLike: 'an ORC file', howToRead: () => 'Convert it to NDJSON or CSV first.' },
  { bytes: ascii('BZh'), looksLike: 'bzip2-compressed data', howToRead: unpack('bzip2 -dc') },
  { bytes: [0xfd, ...ascii('7zXZ\0')], looksLike: 'xz-compressed data', howToRead: unpack('xz -dc') },
  { bytes: [0x28, 0xb5, 0x2f, 0xfd], looksLike: 'zstd-compressed data', howToRead: unpack('zstd -dc') },
  { bytes: [...ascii('7z'), 0xbc, 0xaf, 0x27, 0x1c], looksLike: 'a 7-Zip archive', howToRead: unpack('7z e -so') },
  {
    bytes: ascii('ustar'),
    at: 257,
    looksLike: 'a tar archive',
    howToRead: (name) => `Replay a file from inside it: \`tar -xOf ${name} FILE | pbx replay - ...\`.`,
  },
];

/** Why a source's first bytes are not text, and what they look like; undefined for UTF-8 text. */
export interface NotText {
  /** "a zip archive", or "binary data" when no magic number says more. */
  looksLike: string;
  /** What gave it away: "a NUL byte at byte 12", "bytes that are not UTF-8 at byte 40". */
  because: string;
  howToRead: (name: string) => string;
}

/**
 * Checks the first bytes of a source (a chunk: a multi-byte character cut at its end is not held against it).
 * Text never holds a NUL byte; text in another encoding than UTF-8 (Latin-1, Windows-1252) is refused too, as
 * its accented letters would reach Kafka as bytes no UTF-8 reader takes.
 */
export function notText(head: Buffer): NotText | undefined {
  const nul = head.indexOf(0);
  const invalid = nul >= 0 ? -1 : firstInvalidUtf8(head);
  if (nul < 0 && invalid < 0) return undefined;
  const magic = MAGICS.find(({ bytes, at = 0 }) => bytes.every((b, i) => head[at + i] === b));
  const because = nul >= 0 ? `a NUL byte at byte ${nul}` : `bytes that are not UTF-8 at byte ${invalid}`;
  if (magic) return { looksLike: magic.looksLike, because, howToRead: magic.howToRead };
  if (nul < 0) {
    // Text that is not binary data: most likely another encoding.
    return {
      looksLike: 'text in another encoding than UTF-8 (Latin-1 or Windows-1252, perhaps)',
      because,
      howToRead: (name) => `Convert it: \`iconv -f WINDOWS-1252 -t UTF-8 ${name} > utf8.txt\`, then replay utf8.txt.`,
    };
  }
  return { looksLike: 'binary data', because, howToRead: () => 'Give pbx a text dataset.' };
}

/** Where the first byte that is not UTF-8 is, or -1; a sequence cut at the end of `bytes` is not counted. */
function firstInvalidUtf8(bytes: Buffer): number {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    decoder.decode(bytes, { stream: true });
    return -1;
  } catch {
    // Rare (the file is refused), so the place is found slowly: the longest prefix that decodes.
    let low = 0;
    let high = bytes.length;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, middle), { stream: true });
        low = middle;
      } catch {
        high = middle - 1;
      }
    }
    return startOfCutCharacter(bytes, low);
  }
}

/** Where the character cut at `end` starts (a prefix that decodes may end in one), else `end`. */
function startOfCutCharacter(bytes: Buffer, end: number): number {
  let lead = end;
  while (lead > 0 && end - lead < 3 && (bytes[lead - 1]! & 0xc0) === 0x80) lead--;
  const first = bytes[lead - 1];
  if (first === undefined || first < 0xc0) return end;
  const length = first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : 2;
  return end - (lead - 1) < length ? lead - 1 : end;
}
