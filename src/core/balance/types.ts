// What every balancing method shares, apart from the registry (index.ts) so that the methods
// and the registry that imports them never import each other.
import type { Peer } from "../upstream.ts";
import type { PeerSelection } from "../peer-selection.ts";
import type { SessionVariables } from "../variables/session-variables.ts";

/** What a balancing method may look at besides the peers (hash keys use it). */
export interface PickContext {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly serverAddress: string;
  readonly serverPort: number;
  /**
   * The session's variable slots, for keys naming variables other than the four above;
   * absent, those read as not found ("").
   */
  readonly variables?: SessionVariables;
}

/** A balancing method: picks the next peer for one session, or null for "no live upstreams". */
export interface Picker {
  pick(selection: PeerSelection, context: PickContext): Peer | null;
}
