/**
 * The grant form's group field: a combobox (WAI-ARIA 1.2 pattern, list autocomplete) that asks
 * GET /api/v1/directory/groups as the admin types, a moment after they stop. Arrow keys move through
 * the suggestions, Enter takes one, Escape closes them; whatever is typed stays a valid answer (a
 * local group, or a DN the search cannot reach).
 */
import { useEffect, useId, useState } from 'preact/hooks';
import type { DirectoryGroup } from '@cx/api-schemas';
import { api } from '../../api.js';

/** Wait this long after the last keystroke before searching. */
const DEBOUNCE_MS = 250;

/** What a grant names a group by: an LDAP group's DN, an OIDC group's name. */
const grantName = (group: DirectoryGroup): string => group.dn ?? group.name;

export function GroupSearch({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const id = useId();
  const [found, setFound] = useState<DirectoryGroup[]>([]);
  const [note, setNote] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);

  useEffect(() => {
    // A DN typed or taken in full is not searched again (its commas and equals signs match no cn).
    if (value.trim() === '' || value.includes('=')) return;
    let current = true;
    const timer = setTimeout(() => {
      api.directoryGroups(value.trim()).then(
        (page) => {
          if (!current) return;
          setFound(page.items);
          setActive(-1);
          setNote(
            page.items.length === 0
              ? 'No group in the directory matches; a name typed in full is granted as it is.'
              : `${page.items.length} group${page.items.length === 1 ? '' : 's'} found${page.more ? ', more match: type more of the name' : ''}.`,
          );
        },
        (error: Error) => {
          if (!current) return;
          setFound([]);
          setNote(`The directory cannot be searched: ${error.message}`);
        },
      );
    }, DEBOUNCE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [value]);

  const shown = open && value.trim() !== '' ? found : [];
  const choose = (group: DirectoryGroup): void => {
    onChange(grantName(group));
    setOpen(false);
    setActive(-1);
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      if (shown.length > 0) {
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setActive((active + step + shown.length) % shown.length);
      }
    } else if (e.key === 'Enter' && active >= 0 && shown[active]) {
      e.preventDefault(); // takes the suggestion instead of submitting the dialog
      choose(shown[active]);
    } else if (e.key === 'Escape' && shown.length > 0) {
      e.preventDefault();
      e.stopPropagation(); // closes the suggestions, not the dialog
      setOpen(false);
    }
  };

  return (
    <div class="field combobox">
      <label for={id}>Group name or DN</label>
      <input
        id={id}
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={shown.length > 0 ? 'true' : 'false'}
        aria-controls={`${id}-list`}
        aria-activedescendant={active >= 0 && shown[active] ? `${id}-option-${active}` : undefined}
        aria-describedby={`${id}-note`}
        autocomplete="off"
        required
        value={value}
        onInput={(e) => {
          onChange((e.target as HTMLInputElement).value);
          setOpen(true);
        }}
        onKeyDown={onKeyDown}
        onBlur={() => setOpen(false)}
      />
      <ul id={`${id}-list`} role="listbox" aria-label="Groups found" hidden={shown.length === 0}>
        {shown.map((group, index) => (
          <li
            key={`${group.source}:${grantName(group)}`}
            id={`${id}-option-${index}`}
            role="option"
            aria-selected={index === active ? 'true' : 'false'}
            // mousedown, not click: the input's blur would close the list first
            onMouseDown={(e) => {
              e.preventDefault();
              choose(group);
            }}
          >
            {group.name} <span class="muted small">{group.dn ?? `${group.source} group`}</span>
          </li>
        ))}
      </ul>
      <span id={`${id}-note`} class="muted small" aria-live="polite">
        {value.trim() === '' ? 'Type part of a group name to search the directory.' : note}
      </span>
    </div>
  );
}
