// A worker's side of the peer state every worker shares (nginx's upstream `zone`): connection
// counts for least_conn and max_conns, and the passive max_fails state. Each worker counts its
// own sessions and publishes its counts, batched: one message per turn of the event loop with
// changes, whatever the number of sessions that started or ended in it, so the cost per
// session is a Map.set. The master passes them to the others, and each peer weighs its own
// count plus the others' last published ones (Peer.otherConns).
//
// Consistency: a worker sees another's counts as of that worker's last batch plus two hops
// over the worker channels (well under a millisecond on an idle machine; more under load).
// Two workers picking within that window may both take the same least-loaded server, and
// max_conns may be passed by at most (workers - 1) sessions in it. nginx's zone is exact (a
// mutex in shared memory); an exact limit here is SharedCounters' job (shared-counters.ts).
// Passive failures are told at once, as they happen (they are rare): a server max_fails took
// out in one worker is out in all of them.
import type { Peer, PeerShare, Upstream } from "./upstream.ts";
import type { ConnsMessage, PassiveMessage } from "./worker-messages.ts";

export type PeerShareMessage = ConnsMessage | PassiveMessage;

/** Names a peer the same way in every worker that runs the same config. */
export function peerKey(upstream: Upstream, peer: Peer): string {
  return `${upstream.name}\n${peer.config.backup ? "b" : "p"}${peer.index}\n${peer.address}`;
}

export class SharedPeers implements PeerShare {
  private readonly dirty = new Map<string, Peer>();
  private flushing = false;
  /** worker index → peer key → that worker's conns. */
  private readonly others = new Map<number, Map<string, number>>();
  private byKey: Map<string, Peer> | null = null;

  constructor(
    private readonly send: (message: PeerShareMessage) => void,
    /** The upstreams this worker runs now (they change with reloads). */
    private readonly upstreams: () => Iterable<Upstream>,
    /** Schedules the batch: after this turn's sessions, before the next turn's I/O. */
    private readonly later: (run: () => void) => void = (run) => void setTimeout(run, 0),
  ) {}

  conns(upstream: Upstream, peer: Peer): void {
    this.dirty.set(peerKey(upstream, peer), peer);
    if (this.flushing) return;
    this.flushing = true;
    this.later(() => this.flush());
  }

  passive(upstream: Upstream, peer: Peer): void {
    this.send({
      type: "passive",
      key: peerKey(upstream, peer),
      fails: peer.fails,
      accessedSec: peer.accessedSec,
      checkedSec: peer.checkedSec,
    });
  }

  /** Sends the counts that changed since the last batch. */
  flush(): void {
    this.flushing = false;
    if (this.dirty.size === 0) return;
    const counts = [...this.dirty].map(([key, peer]) => [key, peer.conns] as const);
    this.dirty.clear();
    this.send({ type: "conns", counts });
  }

  /** A message the master passed on from another worker. */
  receive(message: PeerShareMessage): void {
    if (message.type === "passive") {
      const peer = this.peer(message.key);
      if (!peer) return;
      peer.fails = message.fails;
      peer.accessedSec = message.accessedSec;
      peer.checkedSec = message.checkedSec;
      return;
    }
    const worker = message.worker;
    if (worker === undefined) return;
    if (message.counts === null) {
      const gone = this.others.get(worker);
      this.others.delete(worker);
      if (gone) this.recount(gone.keys());
      return;
    }
    let theirs = this.others.get(worker);
    if (!theirs) this.others.set(worker, theirs = new Map());
    for (const [key, n] of message.counts) {
      if (n > 0) theirs.set(key, n);
      else theirs.delete(key);
    }
    this.recount(message.counts.map(([key]) => key));
  }

  /**
   * The config was (re)applied: peers may be new or renumbered. Every peer's others' count is
   * summed afresh, and this worker's counts are published again under the new keys.
   */
  applied(): void {
    this.byKey = null;
    const peers = this.peers();
    for (const peer of peers.values()) peer.otherConns = 0;
    for (const theirs of this.others.values()) {
      for (const [key, n] of theirs) {
        const peer = peers.get(key);
        if (peer) peer.otherConns += n;
      }
    }
    for (const u of this.upstreams()) {
      if (!u.connsShare) continue;
      for (const p of u.allPeers()) this.dirty.set(peerKey(u, p), p);
    }
    this.flush();
  }

  private recount(keys: Iterable<string>): void {
    for (const key of keys) {
      const peer = this.peer(key);
      if (!peer) continue;
      let n = 0;
      for (const theirs of this.others.values()) n += theirs.get(key) ?? 0;
      peer.otherConns = n;
    }
  }

  /** The admin API changes a server list outside apply(): a key not found is looked up afresh. */
  private peer(key: string): Peer | undefined {
    const found = this.peers().get(key);
    if (found) return found;
    this.byKey = null;
    return this.peers().get(key);
  }

  private peers(): Map<string, Peer> {
    if (this.byKey) return this.byKey;
    const map = new Map<string, Peer>();
    for (const u of this.upstreams()) for (const p of u.allPeers()) map.set(peerKey(u, p), p);
    this.byKey = map;
    return map;
  }
}
