/**
 * The wizard's two-node pair, once the form is sent: creates side a's cluster, then side b's, follows
 * both create workflows live, and declares the pair (`POST /api/v1/pairs`) once both are Ready — what
 * docs/two-node-pair.md has a user do by hand. The API has no single call for it, so the browser
 * carries the sequence: it says so, and when any part fails it says what exists and what to do.
 */
import { useEffect, useState } from 'preact/hooks';
import type { ClusterAccepted, ClusterCreateBody, Pair, PairCreateRequest, Workflow } from '@cx/api-schemas';
import { api } from '../api.js';
import { ProblemMessage, StatusBadge } from '../components.js';
import { Link } from '../router.js';
import { SIDES, type Side } from '../pair-wizard.js';
import { useWorkflow, WorkflowProgress } from '../workflow-progress.js';

const clusterHref = (id: string): string => `/clusters/${encodeURIComponent(id)}`;

export function PairCreation(props: {
  pairName: string;
  /** Each side's cluster request. */
  requests: Record<Side, ClusterCreateBody>;
  /** The pair's declaration, given the two clusters' ids. */
  declaration: (clusterIds: Record<Side, string>) => PairCreateRequest;
  /** Back to the form (offered only when nothing is left half-done by this attempt). */
  onBack: () => void;
  isAdmin: boolean;
}) {
  const { pairName, requests } = props;
  const [created, setCreated] = useState<Partial<Record<Side, ClusterAccepted>>>({});
  const [refused, setRefused] = useState<{ side: Side; error: unknown } | undefined>(undefined);
  const [ended, setEnded] = useState<Partial<Record<Side, Workflow>>>({});
  const [pair, setPair] = useState<Pair | undefined>(undefined);
  const [pairError, setPairError] = useState<unknown>(null);
  const [declaring, setDeclaring] = useState(false);
  const [keys] = useState(() => ({ a: crypto.randomUUID(), b: crypto.randomUUID() }));

  // One side after the other: when side a is refused, nothing at all was created.
  useEffect(() => {
    void (async () => {
      for (const side of SIDES) {
        try {
          const accepted = await api.createCluster(requests[side], keys[side]);
          setCreated((c) => ({ ...c, [side]: accepted }));
        } catch (error) {
          setRefused({ side, error });
          return;
        }
      }
    })();
  }, []);

  const declare = async (): Promise<void> => {
    if (!created.a || !created.b) return;
    setDeclaring(true);
    setPairError(null);
    try {
      setPair(await api.createPair(props.declaration({ a: created.a.cluster.id, b: created.b.cluster.id })));
    } catch (error) {
      setPairError(error);
    } finally {
      setDeclaring(false);
    }
  };
  const bothReady = ended.a?.status === 'Succeeded' && ended.b?.status === 'Succeeded';
  useEffect(() => {
    if (bothReady) void declare();
  }, [bothReady]);

  const failedSide = SIDES.find((side) => ended[side] && ended[side].status !== 'Succeeded');
  const clusterLink = (side: Side) => {
    const accepted = created[side];
    return accepted ? <Link href={clusterHref(accepted.cluster.id)}>{requests[side].name}</Link> : requests[side].name;
  };
  const declareElsewhere = props.isAdmin ? (
    <>
      in <Link href="/admin/pairs">Administration → Pairs</Link> or with <code>POST /api/v1/pairs</code>
    </>
  ) : (
    <>
      with <code>POST /api/v1/pairs</code> (docs/two-node-pair.md)
    </>
  );

  return (
    <section class="stack" aria-label={`Creating pair ${pairName}`}>
      <h2>Creating the pair {pairName}</h2>
      {!pair && !refused && !failedSide ? (
        <p class="muted small">
          Your browser creates the two clusters, then declares the pair once both are Ready: keep this page open until
          then. If you leave, the clusters are still created; declare the pair afterwards {declareElsewhere}.
        </p>
      ) : null}
      {SIDES.map((side) => (
        <section key={side} class="card" aria-label={`Side ${side}: ${requests[side].name}`}>
          <h3>
            Side {side}: {clusterLink(side)}
          </h3>
          {created[side] ? (
            <SideRun workflowId={created[side].workflow.id} onEnd={(run) => setEnded((e) => ({ ...e, [side]: run }))} />
          ) : refused?.side === side ? (
            <p>
              <StatusBadge status="Failed" /> refused
            </p>
          ) : refused ? (
            <p class="muted">Not created.</p>
          ) : (
            <p aria-live="polite">Creating…</p>
          )}
        </section>
      ))}

      {refused ? (
        <div class="stack">
          <p class="error-text" role="alert">
            {refused.side === 'a' ? (
              <>Nothing was created: the request for side a ({requests.a.name}) was refused.</>
            ) : (
              <>
                Side a, {clusterLink('a')}, was created and stays; side b ({requests.b.name}) was refused, so the pair
                was not declared. Delete {requests.a.name} on its page, or create side b on its own (topology Single
                node) and declare the pair {declareElsewhere}.
              </>
            )}
          </p>
          <ProblemMessage error={refused.error} />
          <div class="actions">
            <button type="button" onClick={props.onBack}>
              Back to the form
            </button>
          </div>
        </div>
      ) : null}

      {failedSide ? (
        <p class="error-text" role="alert">
          The create of {clusterLink(failedSide)} ended {ended[failedSide]!.status} (its error is above). Both clusters
          exist ({clusterLink('a')}, {clusterLink('b')}); the pair was not declared. Retry the failed run on its
          cluster's page, then declare the pair {declareElsewhere}; or delete both clusters.
        </p>
      ) : null}

      {pairError ? (
        <div class="stack">
          <p class="error-text" role="alert">
            Both clusters are Ready ({clusterLink('a')}, {clusterLink('b')}), but the pair was not declared:
          </p>
          <ProblemMessage error={pairError} />
          <div class="actions">
            <button type="button" class="primary" disabled={declaring} onClick={() => void declare()}>
              {declaring ? 'Declaring…' : 'Declare the pair again'}
            </button>
          </div>
          <p class="muted small">Or declare it {declareElsewhere}; the clusters stay as they are.</p>
        </div>
      ) : null}

      {bothReady && !pair && !pairError ? <p aria-live="polite">Both sides are Ready; declaring the pair…</p> : null}

      {pair ? (
        <section class="card" aria-label={`Pair ${pair.name}`}>
          <h3>Pair {pair.name} declared</h3>
          <p>
            Sides {clusterLink('a')} and {clusterLink('b')}; singletons{' '}
            {pair.singletons.map((s) => `${s.namespace}/${s.name}`).join(', ')}, preferred side {pair.preferredSide}. cx
            is its witness from now on.
          </p>
          <p class="muted small">
            Next: run the pair agent on each side with the configuration from{' '}
            <code>GET /api/v1/pairs/{pair.id}/agents/a</code> and <code>…/b</code> (docs/two-node-pair.md).
            {props.isAdmin ? (
              <>
                {' '}
                The pair is listed in <Link href="/admin/pairs">Administration → Pairs</Link>.
              </>
            ) : null}
          </p>
        </section>
      ) : null}
    </section>
  );
}

/** One side's create run, followed live; `onEnd` once it is Succeeded, Failed or Cancelled. */
function SideRun({ workflowId, onEnd }: { workflowId: string; onEnd: (run: Workflow) => void }) {
  const run = useWorkflow(workflowId, onEnd);
  return run ? <WorkflowProgress run={run} /> : <p aria-live="polite">Following its create workflow…</p>;
}
