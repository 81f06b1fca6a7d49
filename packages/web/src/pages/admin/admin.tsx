/**
 * The administration pages, for administrators only: a section list, then the section the path
 * names. Nobody else is shown the links; one who opens such an address is told so, and nothing is
 * asked of the API (which would refuse them anyway: every admin route requires the global admin role).
 */
import type { Access } from '../../access.js';
import { Link } from '../../router.js';
import { Audit } from './audit.js';
import { Directory } from './directory.js';
import { Grants } from './grants.js';
import { SingleSignOn } from './single-sign-on.js';
import { Credentials, Hosts, IpPools, Pairs, ResourceGroups, Templates } from './infrastructure.js';
import { Groups, Users } from './users.js';

const SECTIONS = [
  { path: 'users', label: 'Users', page: Users },
  { path: 'groups', label: 'Groups', page: Groups },
  { path: 'grants', label: 'Grants', page: Grants },
  { path: 'resource-groups', label: 'Resource groups', page: ResourceGroups },
  { path: 'credentials', label: 'Credentials', page: Credentials },
  { path: 'ip-pools', label: 'IP pools', page: IpPools },
  { path: 'hosts', label: 'Hosts', page: Hosts },
  { path: 'templates', label: 'Cluster templates', page: Templates },
  { path: 'pairs', label: 'Pairs', page: Pairs },
  { path: 'audit', label: 'Audit log', page: Audit },
  { path: 'directory', label: 'Directory', page: Directory },
  { path: 'single-sign-on', label: 'Single sign-on', page: SingleSignOn },
] as const;

export const isAdmin = (access: Access): boolean => access.global === 'admin';

export function AdminPage({ section, access }: { section: string; access: Access }) {
  if (!isAdmin(access))
    return (
      <>
        <h1 tabIndex={-1}>Administrators only</h1>
        <p>
          This page is for cx administrators. <Link href="/clusters">See the clusters</Link>.
        </p>
      </>
    );
  const current = SECTIONS.find((s) => s.path === (section || 'users'));
  return (
    <>
      <nav aria-label="Administration" class="subnav">
        {SECTIONS.map((s) => (
          <Link key={s.path} href={`/admin/${s.path}`} aria-current={s === current ? 'page' : undefined}>
            {s.label}
          </Link>
        ))}
      </nav>
      {current ? (
        <current.page />
      ) : (
        <>
          <h1 tabIndex={-1}>Not found</h1>
          <p>There is no administration page {section}.</p>
        </>
      )}
    </>
  );
}
