/** The directory and single sign-on pages' button that drops what was saved there for the configuration file's settings. */
import type { ComponentChildren, JSX } from 'preact';
import { ConfirmButton } from '../../components.js';

export function RevertSettingsButton(props: {
  onConfirm: () => Promise<void>;
  children: ComponentChildren;
}): JSX.Element {
  return (
    <ConfirmButton
      label="Revert to the configuration file"
      title="Revert to the configuration file?"
      confirmLabel="Revert"
      danger
      onConfirm={props.onConfirm}
    >
      {props.children}
    </ConfirmButton>
  );
}
