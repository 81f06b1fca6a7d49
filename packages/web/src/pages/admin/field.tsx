/**
 * The admin create forms' pieces: the API's request schema of a route (read once from its OpenAPI
 * document), and a labelled control with its hint and its problem, tied to it for screen readers.
 */
import { cloneElement, type JSX } from 'preact';
import { useEffect, useId, useState } from 'preact/hooks';
import { requestSchema, type JsonSchema } from '../../schema.js';

/** The body schema of `POST path`, or undefined until it is read (forms then check nothing yet). */
export function useRequestSchema(path: string): JsonSchema | undefined {
  const [schema, setSchema] = useState<JsonSchema | undefined>(undefined);
  useEffect(() => {
    requestSchema('POST', path).then(setSchema, () => setSchema(undefined));
  }, [path]);
  return schema;
}

/** A labelled control; its problem is shown (and announced) once `show` is true. */
export function Field(props: {
  label: string;
  hint?: string;
  problem?: string | undefined;
  show: boolean;
  children: JSX.Element;
}) {
  const id = useId();
  const problem = props.show ? props.problem : undefined;
  const described = [props.hint ? `${id}-hint` : '', problem ? `${id}-problem` : ''].filter(Boolean).join(' ');
  const child = cloneElement(props.children, {
    id,
    'aria-invalid': problem ? 'true' : undefined,
    'aria-describedby': described || undefined,
  });
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {child}
      {props.hint ? (
        <span id={`${id}-hint`} class="muted small">
          {props.hint}
        </span>
      ) : null}
      {problem ? (
        <span id={`${id}-problem`} class="error-text small">
          {problem}
        </span>
      ) : null}
    </div>
  );
}
