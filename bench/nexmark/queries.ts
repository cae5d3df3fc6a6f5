/**
 * The Nexmark tables and queries as Feldera ships them in its benchmark (q0-q22 but q6 and q11, which Feldera
 * does not ship), written out here in our own formatting; used by `bench/nexmark/suite.ts` and by the tests
 * (`tests/unit/sql/nexmark-queries.test.ts`, `tests/integration/nexmark.test.ts`).
 *
 * `unsupported` marks the queries Holdfast cannot compile yet, with the reason (none today); `udfTs` is the
 * TypeScript that implements a query's bodiless CREATE FUNCTIONs (q21's `re_extract`, a Rust UDF in Feldera).
 */

export interface NexmarkQuery {
  readonly name: string;
  /** Statements: optional CREATE FUNCTION(s), then the view(s); the last view is the query's result. */
  readonly sql: string;
  /** The output view. */
  readonly view: string;
  /** Why Holdfast does not run it (yet), or undefined. */
  readonly unsupported?: string;
  /** The program's `udf_ts` (TypeScript UDFs for its bodiless CREATE FUNCTIONs), or none. */
  readonly udfTs?: string;
}

/**
 * q21's `re_extract` (Feldera: a Rust UDF over the regex crate) in TypeScript: group `grp` of the first match of
 * the pattern `p` in `s`; NULL when an argument is NULL, the pattern does not compile, nothing matches, or the
 * group took no part in the match. Compiled patterns are cached per pattern text (a pure function of it).
 */
export const Q21_UDF_TS = `const patterns = new Map<string, RegExp | null>();
export function re_extract(s: string | null, p: string | null, grp: number | null): string | null {
  if (s === null || p === null || grp === null || grp < 0) return null;
  let re = patterns.get(p);
  if (re === undefined) {
    try {
      re = new RegExp(p, 'u');
    } catch {
      re = null;
    }
    patterns.set(p, re);
  }
  const m = re === null ? null : re.exec(s);
  return m === null ? null : (m[grp] ?? null);
}
`;

export interface TableOptions {
  /** `LATENESS` on the `date_time` columns (e.g. `INTERVAL 4 SECONDS`), or none. */
  readonly lateness?: string;
  /** Connector JSON per table (the WITH clause's list), or none. */
  readonly connectors?: Partial<Record<'person' | 'auction' | 'bid' | 'side_input', string>>;
}

/** The three Nexmark tables (and the side input of q13), as Feldera's benchmark declares them. */
export function nexmarkTables(o: TableOptions = {}): string {
  const late = o.lateness ? ` LATENESS ${o.lateness}` : '';
  const w = (t: keyof NonNullable<TableOptions['connectors']>) => {
    const c = o.connectors?.[t];
    return c === undefined ? '' : ` WITH ('connectors' = '[${c}]')`;
  };
  return `
CREATE TABLE person (
  id BIGINT,
  name VARCHAR,
  emailAddress VARCHAR,
  creditCard VARCHAR,
  city VARCHAR,
  state VARCHAR,
  date_time TIMESTAMP(3) NOT NULL${late},
  extra VARCHAR
)${w('person')};
CREATE TABLE auction (
  id BIGINT,
  itemName VARCHAR,
  description VARCHAR,
  initialBid BIGINT,
  reserve BIGINT,
  date_time TIMESTAMP(3) NOT NULL${late},
  expires TIMESTAMP(3),
  seller BIGINT,
  category BIGINT,
  extra VARCHAR
)${w('auction')};
CREATE TABLE bid (
  auction BIGINT,
  bidder BIGINT,
  price BIGINT,
  channel VARCHAR,
  url VARCHAR,
  date_time TIMESTAMP(3) NOT NULL${late},
  extra VARCHAR
)${w('bid')};
CREATE TABLE side_input (
  date_time TIMESTAMP,
  key BIGINT,
  value VARCHAR
)${w('side_input')};
`;
}

/** Filters on price used by q15-q17. */
const RANKS = {
  rank1: 'price < 10000',
  rank2: 'price >= 10000 AND price < 1000000',
  rank3: 'price >= 1000000',
};

function rankCounts(): string {
  const out: string[] = ['COUNT(*) AS total_bids'];
  for (const [r, f] of Object.entries(RANKS)) out.push(`COUNT(*) FILTER (WHERE ${f}) AS ${r}_bids`);
  for (const what of ['bidder', 'auction']) {
    out.push(`COUNT(DISTINCT ${what}) AS total_${what}s`);
    for (const [r, f] of Object.entries(RANKS))
      out.push(`COUNT(DISTINCT ${what}) FILTER (WHERE ${f}) AS ${r}_${what}s`);
  }
  return out.join(',\n  ');
}

const HOP = 'TABLE(HOP(TABLE bid, DESCRIPTOR(date_time), INTERVAL 2 SECOND, INTERVAL 10 SECOND))';

export const NEXMARK_QUERIES: readonly NexmarkQuery[] = [
  {
    name: 'q0',
    view: 'q0',
    sql: 'CREATE VIEW q0 AS SELECT auction, bidder, price, date_time, extra FROM bid;',
  },
  {
    name: 'q1',
    view: 'q1',
    sql: `CREATE VIEW q1 AS
SELECT auction, bidder, 0.908 * price AS price, date_time, extra FROM bid;`,
  },
  {
    name: 'q2',
    view: 'q2',
    sql: 'CREATE VIEW q2 AS SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0;',
  },
  {
    name: 'q3',
    view: 'q3',
    sql: `CREATE VIEW q3 AS
SELECT P.name, P.city, P.state, A.id
FROM auction AS A INNER JOIN person AS P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA');`,
  },
  {
    name: 'q4',
    view: 'q4',
    sql: `CREATE VIEW q4 AS
SELECT Q.category, AVG(Q.final)
FROM (
  SELECT MAX(B.price) AS final, A.category
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires
  GROUP BY A.id, A.category
) Q
GROUP BY Q.category;`,
  },
  {
    name: 'q5',
    view: 'q5',
    sql: `CREATE VIEW q5 AS
SELECT AuctionBids.auction, AuctionBids.num
FROM (
  SELECT B1.auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
  FROM ${HOP} AS B1
  GROUP BY B1.auction, window_start, window_end
) AS AuctionBids
JOIN (
  SELECT MAX(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
  FROM (
    SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime
    FROM ${HOP} AS B2
    GROUP BY B2.auction, window_start, window_end
  ) AS CountBids
  GROUP BY CountBids.starttime, CountBids.endtime
) AS MaxBids
ON AuctionBids.starttime = MaxBids.starttime
  AND AuctionBids.endtime = MaxBids.endtime
  AND AuctionBids.num >= MaxBids.maxn;`,
  },
  {
    name: 'q7',
    view: 'q7',
    sql: `CREATE VIEW q7 AS
SELECT B.auction, B.price, B.bidder, B.date_time, B.extra
FROM bid B
JOIN (
  SELECT MAX(B1.price) AS maxprice, TUMBLE_END(B1.date_time, INTERVAL '10' SECOND) AS date_time
  FROM bid B1
  GROUP BY TUMBLE(B1.date_time, INTERVAL '10' SECOND)
) B1 ON B.price = B1.maxprice
WHERE B.date_time BETWEEN B1.date_time - INTERVAL '10' SECOND AND B1.date_time;`,
  },
  {
    name: 'q8',
    view: 'q8',
    sql: `CREATE VIEW q8 AS
SELECT P.id, P.name, P.starttime
FROM (
  SELECT P.id, P.name,
    TUMBLE_START(P.date_time, INTERVAL '10' SECOND) AS starttime,
    TUMBLE_END(P.date_time, INTERVAL '10' SECOND) AS endtime
  FROM person P
  GROUP BY P.id, P.name, TUMBLE(P.date_time, INTERVAL '10' SECOND)
) P
JOIN (
  SELECT A.seller,
    TUMBLE_START(A.date_time, INTERVAL '10' SECOND) AS starttime,
    TUMBLE_END(A.date_time, INTERVAL '10' SECOND) AS endtime
  FROM auction A
  GROUP BY A.seller, TUMBLE(A.date_time, INTERVAL '10' SECOND)
) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;`,
  },
  {
    name: 'q9',
    view: 'q9',
    sql: `CREATE VIEW q9 AS
SELECT id, itemName, description, initialBid, reserve, date_time, expires, seller, category, extra,
  auction, bidder, price, bid_dateTime, bid_extra
FROM (
  SELECT A.*, B.auction, B.bidder, B.price, B.date_time AS bid_dateTime, B.extra AS bid_extra,
    ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.date_time ASC) AS rownum
  FROM auction A, bid B
  WHERE A.id = B.auction AND B.date_time BETWEEN A.date_time AND A.expires
)
WHERE rownum <= 1;`,
  },
  {
    name: 'q10',
    view: 'q10',
    sql: `CREATE VIEW q10 AS
SELECT auction, bidder, price, date_time, extra,
  FORMAT_TIMESTAMP('%Y-%m-%d', date_time), FORMAT_TIMESTAMP('%H:%M', date_time)
FROM bid;`,
  },
  {
    name: 'q12',
    view: 'q12',
    sql: `CREATE VIEW q12 AS
SELECT B.bidder, COUNT(*) AS bid_count,
  TUMBLE_START(B.p_time, INTERVAL '10' SECOND) AS starttime,
  TUMBLE_END(B.p_time, INTERVAL '10' SECOND) AS endtime
FROM (SELECT *, NOW() AS p_time FROM bid) B
GROUP BY B.bidder, TUMBLE(B.p_time, INTERVAL '10' SECOND);`,
  },
  {
    name: 'q13',
    view: 'q13',
    sql: `CREATE VIEW q13 AS
SELECT B.auction, B.bidder, B.price, B.date_time, S.value
FROM (SELECT *, date_time AS p_time, MOD(auction, 10000) AS mod FROM bid) B
LEFT ASOF JOIN side_input AS S
MATCH_CONDITION B.p_time >= S.date_time
ON B.mod = S.key;`,
  },
  {
    name: 'q14',
    view: 'q14',
    sql: `CREATE FUNCTION count_char(s VARCHAR, c CHAR) RETURNS INT AS LENGTH(s) - LENGTH(REPLACE(s, c, ''));
CREATE VIEW q14 AS
SELECT auction, bidder, 0.908 * price AS price,
  CASE
    WHEN HOUR(date_time) >= 8 AND HOUR(date_time) <= 18 THEN 'dayTime'
    WHEN HOUR(date_time) <= 6 OR HOUR(date_time) >= 20 THEN 'nightTime'
    ELSE 'otherTime'
  END AS bidTimeType,
  date_time, extra, count_char(extra, 'c') AS c_counts
FROM bid
WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000;`,
  },
  {
    name: 'q15',
    view: 'q15',
    sql: `CREATE VIEW q15 AS
SELECT CAST(date_time AS DATE) AS 'day',
  ${rankCounts()}
FROM bid
GROUP BY CAST(date_time AS DATE);`,
  },
  {
    name: 'q16',
    view: 'q16',
    sql: `CREATE VIEW q16 AS
SELECT channel, FORMAT_DATE('yyyy-MM-dd', date_time) AS 'day',
  MAX(FORMAT_DATE('HH:mm', date_time)) AS 'minute',
  ${rankCounts()}
FROM bid
GROUP BY channel, FORMAT_DATE('yyyy-MM-dd', date_time);`,
  },
  {
    name: 'q17',
    view: 'q17',
    sql: `CREATE VIEW q17 AS
SELECT auction, FORMAT_DATE('yyyy-MM-dd', date_time) AS 'day',
  COUNT(*) AS total_bids,
  COUNT(*) FILTER (WHERE ${RANKS.rank1}) AS rank1_bids,
  COUNT(*) FILTER (WHERE ${RANKS.rank2}) AS rank2_bids,
  COUNT(*) FILTER (WHERE ${RANKS.rank3}) AS rank3_bids,
  MIN(price) AS min_price, MAX(price) AS max_price, AVG(price) AS avg_price, SUM(price) AS sum_price
FROM bid
GROUP BY auction, FORMAT_DATE('yyyy-MM-dd', date_time);`,
  },
  {
    name: 'q18',
    view: 'q18',
    sql: `CREATE VIEW q18 AS
SELECT auction, bidder, price, channel, url, date_time, extra
FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY date_time DESC) AS rank_number
  FROM bid
)
WHERE rank_number <= 1;`,
  },
  {
    name: 'q19',
    view: 'q19',
    sql: `CREATE VIEW q19 AS
SELECT * FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid
)
WHERE rank_number <= 10;`,
  },
  {
    name: 'q20',
    view: 'q20',
    sql: `CREATE VIEW q20 AS
SELECT auction, bidder, price, channel, url, B.date_time, B.extra,
  itemName, description, initialBid, reserve, A.date_time AS AdateTime, expires, seller, category,
  A.extra AS Aextra
FROM bid AS B INNER JOIN auction AS A ON B.auction = A.id
WHERE A.category = 10;`,
  },
  {
    name: 'q21',
    view: 'q21',
    // Feldera's q21 declares re_extract and implements it in Rust (regex captures: group `grp` of the first
    // match of `p` in `s`, NULL when there is no match, the group took no part, or an argument is NULL); here
    // the same function in TypeScript, passed as the program's udf_ts (Q21_UDF_TS)
    sql: `CREATE FUNCTION re_extract(s VARCHAR, p VARCHAR, grp INTEGER) RETURNS VARCHAR;
CREATE VIEW candidates AS
SELECT auction, bidder, price, channel, url, lower(channel) AS lower_channel
FROM bid;
CREATE VIEW q21 AS
SELECT auction, bidder, price, channel,
  CASE
    WHEN lower_channel = 'apple' THEN '0'
    WHEN lower_channel = 'google' THEN '1'
    WHEN lower_channel = 'facebook' THEN '2'
    WHEN lower_channel = 'baidu' THEN '3'
    ELSE re_extract(url, CAST('(&|^)channel_id=([^&]*)' AS VARCHAR), 2)
  END AS channel_id
FROM candidates
WHERE lower_channel IN ('apple', 'google', 'facebook', 'baidu')
  OR re_extract(url, CAST('(&|^)channel_id=([^&]*)' AS VARCHAR), 2) IS NOT NULL;`,
    udfTs: Q21_UDF_TS,
  },
  {
    name: 'q22',
    view: 'q22',
    sql: `CREATE FUNCTION split_index(s VARCHAR, sep CHAR, index INT) RETURNS VARCHAR
  AS SPLIT(s, CAST(sep AS VARCHAR))[index + 1];
CREATE VIEW q22 AS
SELECT auction, bidder, price, channel,
  split_index(url, '/', 3) AS dir1, split_index(url, '/', 4) AS dir2, split_index(url, '/', 5) AS dir3
FROM bid;`,
  },
];
