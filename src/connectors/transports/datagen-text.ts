/**
 * Datagen's text strategies: Feldera's fake-data strategies for string columns (`word`, `sentence`, `name`,
 * `email`, `ipv4`, `company_name`, `isbn13`, ... — the names of Feldera's `DatagenStrategy`, snake_case as on
 * its wire, where `IPv4`, `IPv6`, `IP` and `MACAddress` serialize as `i_pv4`, `i_pv6`, `i_p`, `m_a_c_address`;
 * the readable `ipv4`, `ipv6`, `ip`, `mac_address` are accepted too).
 *
 * Each generator turns draws from the record's generator into a string, so a value depends only on (seed,
 * plan, row) like every datagen value: restartable at any row, identical across runs and batchings. Feldera
 * takes these values from a fake-data library's word lists with its own draws; Holdfast's lists and draws are
 * its own, so these strings (unlike the numeric strategies) differ from Feldera's for the same seed. The word lists
 * are Holdfast's own (English, plain and short); the values look like the kind of data the name says (a
 * plausible name, a syntactically valid e-mail address on an `example.*` domain, a valid IPv4, an ISBN with a
 * correct check digit, a Luhn-valid card number), not any real person's data.
 *
 * `range` is the count for `words`, `sentences` and `paragraphs` ([min, max), defaults [3, 8), [2, 5), [2, 4))
 * and the length for `password` (default [8, 20)); other text strategies ignore it, as Feldera does.
 */
/** A record's random generator (datagen-rng.ts's `SmallRng`): 32 random bits per call. */
export interface CellRandom {
  nextU32(): number;
}

/** Draws from the record's generator (after the column's NULL decision, if any). */
class Draws {
  #r: CellRandom;
  constructor(r: CellRandom) {
    this.#r = r;
  }
  u32(): number {
    return this.#r.nextU32();
  }
  /** An integer in [lo, hi). */
  int(lo: number, hi: number): number {
    return hi <= lo ? lo : lo + (this.u32() % (hi - lo));
  }
  pick<T>(list: readonly T[]): T {
    return list[this.u32() % list.length] as T;
  }
  digits(n: number): string {
    let s = '';
    for (let k = 0; k < n; k++) s += String(this.u32() % 10);
    return s;
  }
  hex(n: number): string {
    let s = '';
    for (let k = 0; k < n; k++) s += (this.u32() % 16).toString(16);
    return s;
  }
}

const split = (s: string): readonly string[] => s.trim().split(/\s+/);

const LATIN = split(`
  lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore
  magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo
  consequat duis aute irure in reprehenderit voluptate velit esse cillum fugiat nulla pariatur excepteur sint
  occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum porro quisquam
  dolorem quia numquam eius modi tempora incidunt magnam quaerat voluptatem accusantium doloremque laudantium
  totam rem aperiam eaque ipsa quae ab illo inventore veritatis quasi architecto beatae vitae dicta explicabo
  nemo ipsam voluptas aspernatur aut odit fugit consequuntur magni dolores eos ratione sequi nesciunt neque`);

const FIRST = split(`
  Ada Alan Alice Amara Anders Anna Arjun Aster Beatrix Bruno Camila Carlos Chen Clara Dalia Daniel Dara Elena
  Emeka Emil Esther Farah Felix Freya Gabriel Grace Hana Hugo Ines Ingrid Isaac Ivan Jada Jonas Julia Kai Karin
  Kofi Lena Leo Lin Luca Maya Mateo Mei Mila Nadia Nico Nora Omar Oscar Paula Pedro Priya Quinn Rafael Rosa Ruth
  Sami Sara Sofia Tariq Teo Una Vera Victor Wen Yara Yusuf Zara Zoe`);

const LAST = split(`
  Abbott Adeyemi Alvarez Andersen Baker Bauer Becker Bianchi Brooks Castro Chen Costa Dalton Diaz Dubois Eriksen
  Evans Fischer Fontaine Garcia Gray Hansen Hart Hoffmann Ito Jensen Kane Kato Khan Kowalski Lambert Larsen Lopez
  Marsh Meyer Moreau Murphy Nakamura Navarro Novak Okafor Olsen Ortiz Park Patel Perez Quint Reyes Ricci Rossi
  Santos Sato Schmidt Silva Sousa Stone Suzuki Tanaka Torres Vargas Vogel Walsh Weber Wong Young Zhang Ziegler`);

const TITLES = ['Mr.', 'Mrs.', 'Ms.', 'Miss', 'Dr.', 'Prof.'];
const SUFFIXES = ['Jr.', 'Sr.', 'II', 'III', 'IV', 'V', 'PhD', 'MD', 'DDS', 'DVM'];
const DOMAIN_SUFFIXES = ['com', 'org', 'net', 'io', 'info', 'biz', 'co', 'dev', 'app', 'name'];
const MAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
const FIELDS =
  split(`Accounting Analytics Brand Communications Compliance Creative Customer Data Design Finance
  Identity Infrastructure Integration Legal Logistics Marketing Mobility Operations Optimization Program Quality
  Research Security Solutions Tactics Web`);
const POSITIONS =
  split(`Administrator Agent Analyst Architect Associate Consultant Coordinator Designer Developer
  Director Engineer Executive Facilitator Manager Officer Planner Producer Representative Specialist Strategist
  Supervisor Technician`);
const SENIORITY = [
  'Lead',
  'Senior',
  'Principal',
  'Junior',
  'Chief',
  'Global',
  'Regional',
  'District',
  'Staff',
];
const COMPANY_SUFFIXES = ['Inc', 'LLC', 'Ltd', 'Group', 'and Sons', 'GmbH', 'AG', 'SA', 'Partners', 'Co'];
const BUZZ_FIRST =
  split(`Adaptive Advanced Automated Balanced Centralized Configurable Cross-platform Customizable
  Decentralized Distributed Enhanced Focused Integrated Intuitive Managed Modular Optimized Persistent
  Proactive Reactive Robust Scalable Seamless Streamlined Synchronized Versatile`);
const BUZZ_MIDDLE =
  split(`asynchronous bandwidth-monitored client-driven context-sensitive data-driven dynamic
  empowering explicit global heuristic incremental interactive local logistical mission-critical modular
  multi-tasking real-time responsive secure stable static systematic transitional user-facing value-added`);
const BUZZ_TAIL =
  split(`algorithm architecture capability challenge circuit database encoding firmware framework
  hierarchy infrastructure interface matrix middleware model network paradigm pipeline policy portal protocol
  service-desk solution strategy throughput toolset workforce`);
const BS_VERBS = split(`aggregate architect benchmark cultivate deliver deploy disintermediate drive embrace
  empower engage enable envision evolve expedite facilitate harness implement incubate integrate iterate leverage
  monetize optimize orchestrate reinvent scale streamline synthesize transform unleash`);
const BS_ADJS = split(`agile bleeding-edge collaborative compelling cross-media customized distributed dynamic
  end-to-end enterprise frictionless global granular holistic impactful innovative integrated interactive
  intuitive mission-critical next-generation open-source proactive real-time robust scalable seamless strategic
  sustainable turn-key viral visionary`);
const BS_NOUNS = split(`action-items architectures bandwidth channels communities content convergence
  deliverables e-markets experiences functionalities infrastructures initiatives interfaces markets metrics
  mindshare models networks niches paradigms partnerships platforms portals relationships schemas solutions
  supply-chains synergies systems technologies users web-services`);
const PROFESSIONS = split(`accountant actor architect baker carpenter chemist designer doctor economist editor
  electrician engineer farmer firefighter geologist historian journalist lawyer librarian mechanic musician
  nurse pharmacist photographer pilot plumber programmer psychologist scientist surgeon teacher translator
  veterinarian writer`);
const INDUSTRIES = [
  'Agriculture',
  'Airlines',
  'Automotive',
  'Banking',
  'Biotechnology',
  'Chemicals',
  'Construction',
  'Consumer Electronics',
  'Education',
  'Energy',
  'Entertainment',
  'Financial Services',
  'Food Production',
  'Health Care',
  'Hospitality',
  'Insurance',
  'Logistics',
  'Manufacturing',
  'Media',
  'Mining',
  'Pharmaceuticals',
  'Real Estate',
  'Retail',
  'Software',
  'Telecommunications',
  'Utilities',
];
/** [ISO 4217 code, name, symbol] */
const CURRENCIES: ReadonlyArray<readonly [string, string, string]> = [
  ['USD', 'US Dollar', '$'],
  ['EUR', 'Euro', '€'],
  ['GBP', 'Pound Sterling', '£'],
  ['JPY', 'Yen', '¥'],
  ['CHF', 'Swiss Franc', 'CHF'],
  ['CAD', 'Canadian Dollar', '$'],
  ['AUD', 'Australian Dollar', '$'],
  ['CNY', 'Yuan Renminbi', '¥'],
  ['INR', 'Indian Rupee', '₹'],
  ['BRL', 'Brazilian Real', 'R$'],
  ['SEK', 'Swedish Krona', 'kr'],
  ['NOK', 'Norwegian Krone', 'kr'],
  ['DKK', 'Danish Krone', 'kr'],
  ['PLN', 'Zloty', 'zł'],
  ['KRW', 'Won', '₩'],
  ['MXN', 'Mexican Peso', '$'],
  ['ZAR', 'Rand', 'R'],
  ['NZD', 'New Zealand Dollar', '$'],
  ['SGD', 'Singapore Dollar', '$'],
  ['TRY', 'Turkish Lira', '₺'],
];
const CITY_PREFIXES = ['North', 'South', 'East', 'West', 'New', 'Lake', 'Port', 'Fort', 'Mount', 'Saint'];
const CITY_SUFFIXES =
  split(`town ton land ville berg burgh borough bury view port mouth stad field chester fort
  haven side shire dale ford`);
/** [ISO 3166-1 alpha-2 code, short name] */
const COUNTRIES: ReadonlyArray<readonly [string, string]> = [
  ['AR', 'Argentina'],
  ['AU', 'Australia'],
  ['AT', 'Austria'],
  ['BE', 'Belgium'],
  ['BR', 'Brazil'],
  ['CA', 'Canada'],
  ['CL', 'Chile'],
  ['CN', 'China'],
  ['CO', 'Colombia'],
  ['CZ', 'Czechia'],
  ['DK', 'Denmark'],
  ['EG', 'Egypt'],
  ['FI', 'Finland'],
  ['FR', 'France'],
  ['DE', 'Germany'],
  ['GH', 'Ghana'],
  ['GR', 'Greece'],
  ['IN', 'India'],
  ['ID', 'Indonesia'],
  ['IE', 'Ireland'],
  ['IT', 'Italy'],
  ['JP', 'Japan'],
  ['KE', 'Kenya'],
  ['MX', 'Mexico'],
  ['NL', 'Netherlands'],
  ['NZ', 'New Zealand'],
  ['NG', 'Nigeria'],
  ['NO', 'Norway'],
  ['PE', 'Peru'],
  ['PL', 'Poland'],
  ['PT', 'Portugal'],
  ['KR', 'South Korea'],
  ['ES', 'Spain'],
  ['SE', 'Sweden'],
  ['CH', 'Switzerland'],
  ['TH', 'Thailand'],
  ['TR', 'Turkey'],
  ['GB', 'United Kingdom'],
  ['US', 'United States'],
  ['VN', 'Vietnam'],
];
const STREET_SUFFIXES =
  split(`Street Avenue Road Lane Drive Court Place Boulevard Way Terrace Square Row Parkway
  Trail Crescent Close`);
const TIME_ZONES = split(`UTC Europe/London Europe/Paris Europe/Berlin Europe/Madrid Europe/Rome Europe/Warsaw
  Europe/Athens Europe/Helsinki Africa/Cairo Africa/Lagos Africa/Nairobi Asia/Dubai Asia/Kolkata Asia/Bangkok
  Asia/Shanghai Asia/Tokyo Asia/Seoul Asia/Singapore Australia/Sydney Pacific/Auckland America/Sao_Paulo
  America/Buenos_Aires America/New_York America/Chicago America/Denver America/Los_Angeles America/Anchorage
  America/Mexico_City America/Toronto Pacific/Honolulu`);
/** [US state name, postal abbreviation] */
const STATES: ReadonlyArray<readonly [string, string]> = [
  ['Alabama', 'AL'],
  ['Alaska', 'AK'],
  ['Arizona', 'AZ'],
  ['Arkansas', 'AR'],
  ['California', 'CA'],
  ['Colorado', 'CO'],
  ['Connecticut', 'CT'],
  ['Delaware', 'DE'],
  ['Florida', 'FL'],
  ['Georgia', 'GA'],
  ['Hawaii', 'HI'],
  ['Idaho', 'ID'],
  ['Illinois', 'IL'],
  ['Indiana', 'IN'],
  ['Iowa', 'IA'],
  ['Kansas', 'KS'],
  ['Kentucky', 'KY'],
  ['Louisiana', 'LA'],
  ['Maine', 'ME'],
  ['Maryland', 'MD'],
  ['Massachusetts', 'MA'],
  ['Michigan', 'MI'],
  ['Minnesota', 'MN'],
  ['Mississippi', 'MS'],
  ['Missouri', 'MO'],
  ['Montana', 'MT'],
  ['Nebraska', 'NE'],
  ['Nevada', 'NV'],
  ['New Hampshire', 'NH'],
  ['New Jersey', 'NJ'],
  ['New Mexico', 'NM'],
  ['New York', 'NY'],
  ['North Carolina', 'NC'],
  ['North Dakota', 'ND'],
  ['Ohio', 'OH'],
  ['Oklahoma', 'OK'],
  ['Oregon', 'OR'],
  ['Pennsylvania', 'PA'],
  ['Rhode Island', 'RI'],
  ['South Carolina', 'SC'],
  ['South Dakota', 'SD'],
  ['Tennessee', 'TN'],
  ['Texas', 'TX'],
  ['Utah', 'UT'],
  ['Vermont', 'VT'],
  ['Virginia', 'VA'],
  ['Washington', 'WA'],
  ['West Virginia', 'WV'],
  ['Wisconsin', 'WI'],
  ['Wyoming', 'WY'],
];
const SECONDARY_TYPES = ['Apt.', 'Suite', 'Unit', 'Floor'];
const RFC_STATUS = [
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304, 305, 307,
  308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 418, 421,
  422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
];
const VALID_STATUS = [
  200, 201, 202, 204, 301, 302, 304, 400, 401, 403, 404, 405, 409, 429, 500, 502, 503, 504,
];
const FILE_EXTENSIONS = split(
  'txt csv json md pdf png jpg gif svg html css js ts rs py sql log xml yaml toml zip',
);
const DIRS = split('home usr var etc opt srv tmp data logs docs src build assets config reports archive');
const BROWSERS = ['Firefox', 'Chrome', 'Safari', 'Edge', 'Opera'];
const PLATFORMS = [
  'X11; Linux x86_64',
  'Windows NT 10.0; Win64; x64',
  'Macintosh; Intel Mac OS X 14_5',
  'X11; Ubuntu; Linux aarch64',
  'iPhone; CPU iPhone OS 17_4 like Mac OS X',
];

// ---------------------------------------------------------------------------------------------------------

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
const words = (d: Draws, n: number) => Array.from({ length: n }, () => d.pick(LATIN)).join(' ');
const sentence = (d: Draws) => `${cap(words(d, d.int(4, 11)))}.`;
const paragraph = (d: Draws) => Array.from({ length: d.int(3, 7) }, () => sentence(d)).join(' ');
const firstName = (d: Draws) => d.pick(FIRST);
const lastName = (d: Draws) => d.pick(LAST);
const name = (d: Draws) => `${firstName(d)} ${lastName(d)}`;
const username = (d: Draws) => {
  const f = firstName(d).toLowerCase();
  const l = lastName(d).toLowerCase();
  switch (d.u32() % 3) {
    case 0:
      return `${f}.${l}`;
    case 1:
      return `${f}${d.digits(2)}`;
    default:
      return `${f.charAt(0)}${l}${d.digits(1)}`;
  }
};
const ipv4 = (d: Draws) => `${d.int(1, 224)}.${d.int(0, 256)}.${d.int(0, 256)}.${d.int(1, 255)}`;
const ipv6 = (d: Draws) => Array.from({ length: 8 }, () => d.hex(4)).join(':');
const company = (d: Draws) => {
  switch (d.u32() % 3) {
    case 0:
      return `${lastName(d)} ${d.pick(COMPANY_SUFFIXES)}`;
    case 1:
      return `${lastName(d)}-${lastName(d)}`;
    default:
      return `${lastName(d)}, ${lastName(d)} and ${lastName(d)}`;
  }
};
const cityName = (d: Draws) =>
  d.u32() % 2 === 0
    ? `${d.pick(CITY_PREFIXES)} ${firstName(d)}${d.pick(CITY_SUFFIXES)}`
    : `${lastName(d)}${d.pick(CITY_SUFFIXES)}`;
const zip = (d: Draws) => (d.u32() % 4 === 0 ? `${d.digits(5)}-${d.digits(4)}` : d.digits(5));
const coordinate = (d: Draws, max: number) => ((d.u32() / 4294967296) * 2 * max - max).toFixed(6);

/** ISBN-10 (check digit mod 11, X for 10), hyphenated group-publisher-title-check. */
function isbn10(d: Draws): string {
  const body = d.digits(9);
  let sum = 0;
  for (let k = 0; k < 9; k++) sum += (10 - k) * Number(body[k]);
  const c = (11 - (sum % 11)) % 11;
  return `${body.slice(0, 1)}-${body.slice(1, 4)}-${body.slice(4, 9)}-${c === 10 ? 'X' : c}`;
}

/** ISBN-13 with the 978 prefix (check digit: weights 1, 3), hyphenated. */
function isbn13(d: Draws): string {
  const body = `978${d.digits(9)}`;
  let sum = 0;
  for (let k = 0; k < 12; k++) sum += (k % 2 === 0 ? 1 : 3) * Number(body[k]);
  const c = (10 - (sum % 10)) % 10;
  return `${body.slice(0, 3)}-${body.slice(3, 4)}-${body.slice(4, 7)}-${body.slice(7, 12)}-${c}`;
}

/** A 16-digit number starting with 4 whose last digit makes the Luhn sum a multiple of 10. */
function creditCard(d: Draws): string {
  const body = `4${d.digits(14)}`;
  let sum = 0;
  for (let k = 0; k < 15; k++) {
    // from the right, the check digit's neighbour is doubled
    let v = Number(body[14 - k]);
    if (k % 2 === 0) {
      v *= 2;
      if (v > 9) v -= 9;
    }
    sum += v;
  }
  return `${body}${(10 - (sum % 10)) % 10}`;
}

type TextFn = (d: Draws, count: readonly [number, number] | null) => string;
const count = (c: readonly [number, number] | null, lo: number, hi: number, d: Draws) =>
  c === null ? d.int(lo, hi) : d.int(c[0], c[1]);

const TEXT: Record<string, TextFn> = {
  word: (d) => d.pick(LATIN),
  words: (d, c) => words(d, count(c, 3, 8, d)),
  sentence: (d) => sentence(d),
  sentences: (d, c) => Array.from({ length: count(c, 2, 5, d) }, () => sentence(d)).join(' '),
  paragraph: (d) => paragraph(d),
  paragraphs: (d, c) => Array.from({ length: count(c, 2, 4, d) }, () => paragraph(d)).join('\n'),
  first_name: firstName,
  last_name: lastName,
  title: (d) => d.pick(TITLES),
  suffix: (d) => d.pick(SUFFIXES),
  name,
  name_with_title: (d) => `${d.pick(TITLES)} ${name(d)}`,
  domain_suffix: (d) => d.pick(DOMAIN_SUFFIXES),
  email: (d) => `${username(d)}@${d.pick(MAIL_DOMAINS)}`,
  username,
  password: (d, c) => {
    const n = count(c, 8, 20, d);
    const chars = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!#$%&*+-=?@^_';
    let s = '';
    for (let k = 0; k < n; k++) s += chars[d.u32() % chars.length];
    return s;
  },
  field: (d) => d.pick(FIELDS),
  position: (d) => d.pick(POSITIONS),
  seniority: (d) => d.pick(SENIORITY),
  job_title: (d) => `${d.pick(SENIORITY)} ${d.pick(FIELDS)} ${d.pick(POSITIONS)}`,
  i_pv4: ipv4,
  i_pv6: ipv6,
  i_p: (d) => (d.u32() % 2 === 0 ? ipv4(d) : ipv6(d)),
  m_a_c_address: (d) => Array.from({ length: 6 }, () => d.hex(2)).join(':'),
  user_agent: (d) => {
    const b = d.pick(BROWSERS);
    return `Mozilla/5.0 (${d.pick(PLATFORMS)}) ${b}/${d.int(90, 131)}.0`;
  },
  rfc_status_code: (d) => String(d.pick(RFC_STATUS)),
  valid_status_code: (d) => String(d.pick(VALID_STATUS)),
  company_suffix: (d) => d.pick(COMPANY_SUFFIXES),
  company_name: company,
  buzzword: (d) => d.pick(BUZZ_FIRST),
  buzzword_middle: (d) => d.pick(BUZZ_MIDDLE),
  buzzword_tail: (d) => d.pick(BUZZ_TAIL),
  catch_phrase: (d) => `${d.pick(BUZZ_FIRST)} ${d.pick(BUZZ_MIDDLE)} ${d.pick(BUZZ_TAIL)}`,
  bs_verb: (d) => d.pick(BS_VERBS),
  bs_adj: (d) => d.pick(BS_ADJS),
  bs_noun: (d) => d.pick(BS_NOUNS),
  bs: (d) => `${d.pick(BS_VERBS)} ${d.pick(BS_ADJS)} ${d.pick(BS_NOUNS)}`,
  profession: (d) => d.pick(PROFESSIONS),
  industry: (d) => d.pick(INDUSTRIES),
  currency_code: (d) => d.pick(CURRENCIES)[0],
  currency_name: (d) => d.pick(CURRENCIES)[1],
  currency_symbol: (d) => d.pick(CURRENCIES)[2],
  credit_card_number: creditCard,
  city_prefix: (d) => d.pick(CITY_PREFIXES),
  city_suffix: (d) => d.pick(CITY_SUFFIXES),
  city_name: cityName,
  country_name: (d) => d.pick(COUNTRIES)[1],
  country_code: (d) => d.pick(COUNTRIES)[0],
  street_suffix: (d) => d.pick(STREET_SUFFIXES),
  street_name: (d) => `${lastName(d)} ${d.pick(STREET_SUFFIXES)}`,
  time_zone: (d) => d.pick(TIME_ZONES),
  state_name: (d) => d.pick(STATES)[0],
  state_abbr: (d) => d.pick(STATES)[1],
  secondary_address_type: (d) => d.pick(SECONDARY_TYPES),
  secondary_address: (d) => `${d.pick(SECONDARY_TYPES)} ${d.int(1, 1000)}`,
  zip_code: zip,
  post_code: zip,
  building_number: (d) => String(d.int(1, 10_000)),
  latitude: (d) => coordinate(d, 90),
  longitude: (d) => coordinate(d, 180),
  isbn: (d) => (d.u32() % 2 === 0 ? isbn10(d) : isbn13(d)),
  isbn13,
  isbn10,
  phone_number: (d) =>
    d.u32() % 2 === 0
      ? `(${d.int(200, 1000)}) ${d.int(200, 1000)}-${d.digits(4)}`
      : `${d.int(200, 1000)}-${d.int(200, 1000)}-${d.digits(4)}`,
  cell_number: (d) => `${d.int(200, 1000)}-${d.int(200, 1000)}-${d.digits(4)}`,
  file_path: (d) => `/${d.pick(DIRS)}/${d.pick(DIRS)}/${d.pick(LATIN)}.${d.pick(FILE_EXTENSIONS)}`,
  file_name: (d) => `${d.pick(LATIN)}.${d.pick(FILE_EXTENSIONS)}`,
  file_extension: (d) => d.pick(FILE_EXTENSIONS),
  dir_path: (d) => `/${d.pick(DIRS)}/${d.pick(DIRS)}/${d.pick(DIRS)}`,
};

/** Readable spellings accepted beside Feldera's wire names. */
const ALIASES: Record<string, string> = {
  ipv4: 'i_pv4',
  ipv6: 'i_pv6',
  ip: 'i_p',
  mac_address: 'm_a_c_address',
};

/** Every text strategy name accepted (Feldera's wire names first, then the readable aliases). */
export const TEXT_STRATEGIES: readonly string[] = [...Object.keys(TEXT), ...Object.keys(ALIASES)];

/** The canonical (Feldera wire) name of a text strategy, or null if `name` is not one. */
export function textStrategy(name: string): string | null {
  if (Object.hasOwn(TEXT, name)) return name;
  return ALIASES[name] ?? null;
}

/** Whether a text strategy reads `range` (as a count or length). */
export function textUsesRange(strategy: string): boolean {
  return ['words', 'sentences', 'paragraphs', 'password'].includes(strategy);
}

/** A generator of the strategy's text for a cell (`range` as validated by the caller, or null). */
export function textGenerator(
  strategy: string,
  range: readonly [number, number] | null,
): (r: CellRandom) => string {
  const f = TEXT[strategy];
  if (f === undefined) throw new Error(`not a text strategy: ${strategy}`);
  return (r) => f(new Draws(r), range);
}
