/**
 * The program editor: a CodeMirror SQL editor whose compile errors are shown where they are (underlined at
 * their line and column, in the gutter, and listed below with "line L, column C"), a runtime-config JSON editor
 * checked as you type, and the form that creates a pipeline (`POST /v0/pipelines`) or saves an existing one
 * (`PATCH`). Compilation is synchronous on the server, so the answer already carries `program_error`. "Saved"
 * is said only of the text this form saved (while saving, and for edits since, it says so instead).
 *
 * State: the editor's text lives in CodeMirror; the diagnostics are pushed into it whenever they change.
 */
import { sql } from '@codemirror/lang-sql';
import { HighlightStyle, syntaxHighlighting } from '@codemirror/language';
import { type Diagnostic, lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState, Prec } from '@codemirror/state';
import { keymap } from '@codemirror/view';
import { tags } from '@lezer/highlight';
import { basicSetup, EditorView } from 'codemirror';
import { useEffect, useRef, useState } from 'preact/hooks';
import type {
  PipelineInfo,
  ProgramError,
  RuntimeConfig,
  RuntimeFieldWarning,
  SqlCompilerMessage,
} from '../client/index.ts';
import { attempt, pipelineHref, useSession } from './util.tsx';

/** The SQL compiler's errors and warnings of a program (none for a program that compiled). */
export function sqlMessages(err: ProgramError | null | undefined): SqlCompilerMessage[] {
  return err?.sql_compilation?.messages ?? [];
}

/** SQL colours with at least 4.5:1 contrast on white (the default style's are lighter). */
const HIGHLIGHT = HighlightStyle.define([
  { tag: tags.keyword, color: '#6f1d9b', fontWeight: '600' },
  { tag: [tags.string, tags.special(tags.string)], color: '#9c1c1c' },
  { tag: [tags.number, tags.bool, tags.null], color: '#0f5e3a' },
  { tag: [tags.typeName, tags.standard(tags.name)], color: '#0b5a8a' },
  { tag: tags.comment, color: '#4f565e', fontStyle: 'italic' },
  { tag: [tags.operator, tags.punctuation, tags.name], color: '#1b1b1b' },
]);

function toDiagnostics(state: EditorState, messages: readonly SqlCompilerMessage[]): Diagnostic[] {
  const doc = state.doc;
  const pos = (line: number, col: number): number => {
    const l = doc.line(Math.min(Math.max(1, line), doc.lines));
    return l.from + Math.min(Math.max(0, col - 1), l.length);
  };
  return messages.map((m) => {
    const from = pos(m.start_line_number, m.start_column);
    let to = pos(m.end_line_number || m.start_line_number, (m.end_column || m.start_column) + 1);
    // a point (the compiler gives start = end for most errors): mark the word that starts there
    if (to - from <= 1) {
      const line = doc.lineAt(from);
      const word = /^[\w$]+/.exec(line.text.slice(from - line.from));
      to = from + Math.max(1, word ? word[0].length : 1);
    }
    to = Math.min(to, doc.length);
    return {
      from,
      to,
      severity: m.warning ? 'warning' : 'error',
      message: `${m.error_type}: ${m.message}`,
    };
  });
}

export function SqlEditor(props: {
  value: string;
  onChange: (v: string) => void;
  messages: readonly SqlCompilerMessage[];
  label: string;
  onSave?: () => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const handlers = useRef(props);
  handlers.current = props;
  useEffect(() => {
    if (box.current === null) return;
    const v = new EditorView({
      parent: box.current,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          basicSetup,
          sql(),
          syntaxHighlighting(HIGHLIGHT),
          lintGutter(),
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) handlers.current.onChange(u.state.doc.toString());
          }),
          Prec.highest(
            keymap.of(
              ['Mod-s', 'Mod-Enter'].map((key) => ({
                key,
                preventDefault: true,
                run: () => {
                  handlers.current.onSave?.();
                  return handlers.current.onSave !== undefined;
                },
              })),
            ),
          ),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
  }, []);
  // a value set from outside (a pipeline loaded after mount) replaces the text
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);
  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state, props.messages)));
  }, [props.messages]);
  return <div class="sql-editor" ref={box} />;
}

/** The compiler's messages as a list: "line L, column C: type: message". */
export function CompileMessages({
  messages,
  status,
}: {
  messages: readonly SqlCompilerMessage[];
  status: string;
}) {
  if (messages.length === 0) return null;
  return (
    <div class="compile-errors" role="alert">
      <h3>
        {messages.some((m) => !m.warning) ? 'The program does not compile' : 'Compiler warnings'} ({status})
      </h3>
      <ul>
        {messages.map((m, i) => (
          <li key={i} class={m.warning ? 'warning' : 'error'} data-line={m.start_line_number}>
            <strong>
              line {m.start_line_number}, column {m.start_column}
            </strong>
            : {m.error_type}: {m.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** Parses the runtime-config text: the object, or why it is not one. */
export function parseRuntimeConfig(text: string): { config?: RuntimeConfig; error?: string } {
  if (text.trim() === '') return { config: {} };
  try {
    const v = JSON.parse(text) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      return { error: 'the runtime config must be a JSON object ({ ... })' };
    return { config: v as RuntimeConfig };
  } catch (e) {
    return { error: `not valid JSON: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Create (no `existing`) or edit a pipeline's program, description and runtime config. After a create the
 * page moves to the new pipeline's program tab (where compile errors stay visible until fixed).
 */
export function ProgramForm(props: {
  existing?: { name: string; program_code: string; description: string; runtime_config: RuntimeConfig };
  programError?: ProgramError | null;
  programStatus?: string;
  onSaved?: (p: PipelineInfo) => void;
}) {
  const { client } = useSession();
  const e = props.existing;
  const [name, setName] = useState(e?.name ?? '');
  const [code, setCode] = useState(e?.program_code ?? '');
  const [description, setDescription] = useState(e?.description ?? '');
  const [initialRc] = useState(e ? JSON.stringify(e.runtime_config, null, 2) : '{}');
  const [rc, setRc] = useState(initialRc);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [result, setResult] = useState<{
    status: string;
    err: ProgramError | null;
    warnings: RuntimeFieldWarning[];
    /** The program this form saved (null: the stored program's status, as the form opened). */
    savedCode: string | null;
  } | null>(
    props.programError !== undefined
      ? { status: props.programStatus ?? '', err: props.programError ?? null, warnings: [], savedCode: null }
      : null,
  );
  const parsed = parseRuntimeConfig(rc);

  const save = async () => {
    if (saving) return;
    if (parsed.error !== undefined) {
      setError(`Runtime config: ${parsed.error}`);
      return;
    }
    if (!e && name.trim() === '') {
      setError('Give the pipeline a name');
      return;
    }
    setSaving(true);
    await attempt(setError, async () => {
      const info = e
        ? await client.patchPipeline(e.name, {
            program_code: code,
            description,
            // the stored config is sent back only when edited (PATCH leaves an absent key unchanged)
            ...(rc !== initialRc ? { runtime_config: parsed.config ?? {} } : {}),
          })
        : await client.createPipeline({
            name: name.trim(),
            program_code: code,
            description,
            runtime_config: parsed.config ?? {},
          });
      setResult({
        status: info.program_status,
        err: info.program_error,
        warnings: info.warnings ?? [],
        savedCode: code,
      });
      props.onSaved?.(info);
      if (!e) location.hash = pipelineHref(info.name, 'program');
    });
    setSaving(false);
  };

  const messages = sqlMessages(result?.err);
  return (
    <form
      class="program-form"
      onSubmit={(ev) => {
        ev.preventDefault();
        void save();
      }}
    >
      <div class="field-row">
        <label>
          Name
          <input
            name="name"
            value={name}
            disabled={e !== undefined}
            required
            onInput={(ev) => setName(ev.currentTarget.value)}
          />
        </label>
        <label class="grow">
          Description
          <input value={description} onInput={(ev) => setDescription(ev.currentTarget.value)} />
        </label>
      </div>
      <div class="label" id="sql-label">
        SQL program <span class="muted">(Ctrl+S saves)</span>
      </div>
      <SqlEditor
        value={code}
        onChange={setCode}
        messages={messages}
        label="SQL program"
        onSave={() => void save()}
      />
      {result && <CompileMessages messages={messages} status={result.status} />}
      {result?.err?.system_error && (
        <p class="error" role="alert">
          {result.err.system_error}
        </p>
      )}
      {saving ? (
        <p class="muted" role="status">
          Saving and compiling…
        </p>
      ) : (
        result &&
        messages.every((m) => m.warning) &&
        !result.err?.system_error &&
        (result.savedCode === code ? (
          <p class="ok" role="status">
            Saved; program status {result.status}.
            {messages.length > 0
              ? ` ${messages.length} warning${messages.length === 1 ? '' : 's'} above.`
              : ''}
          </p>
        ) : (
          <p class="muted" role="status">
            Stored program: {result.status}
            {result.savedCode === null && code !== (e?.program_code ?? '') ? '; unsaved changes' : ''}
            {result.savedCode !== null ? '; changed since saved' : ''}.
          </p>
        ))
      )}
      <label class="block">
        Runtime config (JSON)
        <textarea
          class="mono"
          rows={6}
          value={rc}
          spellcheck={false}
          aria-invalid={parsed.error !== undefined}
          aria-describedby="rc-help"
          onInput={(ev) => setRc(ev.currentTarget.value)}
        />
      </label>
      <p id="rc-help" class={parsed.error ? 'error' : 'muted'}>
        {parsed.error ?? 'e.g. {"workers": 2, "fault_tolerance": {"model": "exactly_once"}}'}
      </p>
      {result && result.warnings.length > 0 && (
        <ul class="warnings">
          {result.warnings.map((w) => (
            <li key={w.field}>
              <code>{w.field}</code>: {w.message}
            </li>
          ))}
        </ul>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" class="primary" disabled={saving}>
        {saving ? 'Saving…' : e ? 'Save program' : 'Create pipeline'}
      </button>
    </form>
  );
}
