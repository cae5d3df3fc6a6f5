/**
 * Line framing for streamed HTTP bodies: splits a byte stream into text lines on `\n` (a trailing `\r` is
 * dropped, so `\r\n`-framed egress chunks work too), decoding UTF-8 incrementally so that a multi-byte
 * character or a line split across network reads is reassembled. Stopping the iteration early cancels the
 * underlying stream.
 */

export async function* readLines(body: ReadableStream<Uint8Array> | null): AsyncGenerator<string> {
  if (body === null) return;
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let start = 0;
      for (let nl = buf.indexOf('\n', start); nl >= 0; nl = buf.indexOf('\n', start)) {
        const end = nl > start && buf.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        const line = buf.slice(start, end);
        start = nl + 1;
        yield line;
      }
      buf = buf.slice(start);
    }
    buf += decoder.decode();
    finished = true;
    if (buf.length > 0) yield buf.endsWith('\r') ? buf.slice(0, -1) : buf;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
