// Tunables in one place, each with the reason for its value.

/** Largest frame accepted on a peer stream. Bigger frames close the stream (see LIBP2P.md: 4 MiB is libp2p's own default). */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024

/** Yamux stream window: larger windows let a slow receiver fall seconds behind and miss pings (LIBP2P.md #2). */
export const YAMUX_MAX_STREAM_WINDOW = 256 * 1024

/** Tasks the executor may hold whose synchronous part has not finished: one runs and one waits in its queue, so the thread never idles for a round trip between tasks. */
export const EXECUTOR_SLOTS = 2

/**
 * Short tasks go to the executor in bigger batches: as many as make about this much work, by the
 * measured run time of the last tasks, up to EXECUTOR_MAX_BATCH. Each hop between the host and
 * the executor thread costs tens of microseconds (a wake-up on another core), so a task of a few
 * microseconds handed over two at a time left the executor waiting most of the time. A task
 * handed over can no longer be stolen: this bounds the work held back from thieves.
 */
export const EXECUTOR_BATCH_MS = 1
export const EXECUTOR_MAX_BATCH = 256

/**
 * The executor sends the results of a batch of tasks together, once the batch is done; it sends
 * what it holds before a task of a function that took longer than this (or is new to it), or
 * once it has held results for EXECUTOR_RESULT_HOLD_MAX_MS, so that no result waits long for
 * another task to finish.
 */
export const EXECUTOR_RESULT_HOLD_MS = 0.1
export const EXECUTOR_RESULT_HOLD_MAX_MS = 0.5

/**
 * A thief is given half of the victim's queue, but no more tasks than fit in this many bytes on
 * the wire (one task at least): half of 20 000 tiny tasks made a 1 MB message that took half a
 * second to cross, longer than running them, and two big tasks could exceed MAX_FRAME_BYTES.
 * The thief asks again before it runs dry (see the scheduler's steal ahead).
 */
export const STEAL_MAX_BYTES = 64 * 1024

/**
 * An executor's messages that nobody waits for (tasks it runs itself, their results) go to its
 * host at most this long after its previous batch, all together (see BatchedPort).
 */
export const LATER_MESSAGES_MS = 1

/**
 * Young generation of an executor thread's heap. V8 grows it to tens of MB per isolate under a
 * high allocation rate (a map over millions of items), which took the origin's resident memory
 * past 200 MB; at 8 MB its speed on that map was the same (bench/profile/README.md).
 */
export const EXECUTOR_YOUNG_GENERATION_MB = 8

/**
 * Node.js options of every worker process (and of the launcher, through bin/scoop-node.js's
 * `#!` line). V8 keeps a pool of 4 background threads per process for parallel GC and
 * concurrent compilation; a run has one process per core, each with an executor and a host
 * thread already, so on 2 cores those pools' 8 threads only took the cores from the executors:
 * with one thread per pool the nested tree ran 1.5x as fast (28 k/s -> 42 k/s, medians of 9),
 * the submit flood 1.1x, and the round trip, start-up and pi were the same
 * (bench/profile/README.md). For worker processes, a --v8-pool-size in the user's NODE_OPTIONS
 * is left to win.
 */
export const WORKER_NODE_OPTIONS = ['--v8-pool-size=1']

/** Upper bound on suspended (awaiting) tasks per executor, so async tasks cannot drain the whole mesh into one thread. */
export const MAX_SUSPENDED_TASKS = 4096

/**
 * A stolen task tells its owner it started only if it is still running after this long: a short
 * task's result arrives first and says it all, which saves a message per task. Until then the
 * owner may still cancel it (its result is then dropped).
 */
export const STARTED_NOTICE_DELAY_MS = 2

/**
 * A task lost with this many peers (each died while holding it) is quarantined: its future
 * rejects with TaskQuarantinedError instead of killing worker after worker.
 */
export const MAX_TASK_LOSSES = 3
/** Lost peers a scheduler remembers, to recognise a late notice naming one (see Scheduler.onMoved). */
export const DEPARTED_PEERS_KEPT = 1024

/**
 * A peer whose queue turns non-empty tells this many random peers (every peer, in a mesh this
 * small), and tells the same ones when it is empty again: O(1) messages per change rather than
 * O(peers), which at 500 peers was most of the traffic. Those who hear steal from it, and the work
 * they take makes them tell as many more: news of work spreads like the work itself.
 */
export const LOAD_ADVERT_FANOUT = 8

/**
 * In a mesh bigger than LOAD_ADVERT_FANOUT an idle peer may hear of no loaded peer, so it asks
 * random peers; after this many empty answers in a row it waits before asking again, that wait
 * doubling from STEAL_BACKOFF_MIN_MS to STEAL_BACKOFF_MAX_MS, so an idle mesh does not poll in
 * a tight loop. News of work ends the wait.
 */
export const STEAL_PROBES_BEFORE_BACKOFF = 2
export const STEAL_BACKOFF_MIN_MS = 1
export const STEAL_BACKOFF_MAX_MS = 100

/** Membership heartbeat period on the gossip topic; a peer silent for LEASE heartbeats is dropped from the view. */
export const HEARTBEAT_INTERVAL_MS = 1000
export const HEARTBEAT_LEASE = 3

/** How long shared.getConst waits for a name not defined yet, unless told otherwise. */
export const GET_CONST_DEFAULT_TIMEOUT_MS = 10_000

/** A fetch of missing shared constants unanswered for this long may be sent again. */
export const CONST_FETCH_RETRY_MS = 1000

/**
 * A map chunk aims at this much work, so per-chunk overhead stays small against the work itself
 * and chunks stay small against each peer's share. Each chunk costs its two hosts CPU time,
 * taken from the executors when every core runs one: with 100 ms chunks the 2-worker pi bench
 * ran 5-8 % faster (1.70x against 1.62x over serial), but the simulator's scaling curve (1 s of
 * 1 ms items per peer) kept 91.9-97.3 % of workers busy instead of 96.4-98.4 %; 50 ms gave
 * neither (bench/profile/README.md). What should go is the hosts' cost per chunk.
 */
export const MAP_CHUNK_TARGET_MS = 20
/** Never more items than this in one chunk (bounds memory per message and keeps work stealable). */
export const MAP_CHUNK_MAX_ITEMS = 2048
/** Encoded size above which a chunk is cut, whatever its item count. */
export const MAP_CHUNK_MAX_BYTES = 1024 * 1024
/**
 * Items of a map in flight (submitted but not yet consumed) per live peer: two full chunks each
 * (one runs, one waits). What is in flight when the executor's young generation fills survives
 * into its old generation, which then grows until a full GC: with 16384 a 10-million-item map's
 * origin peaked at 200-220 MB of RSS, 8192 (chunks of 4096) at 183-194 MiB, 4096 (chunks of
 * 2048) at 167-169 MiB, at the same speed, and a 100 000-item map was no slower
 * (bench/profile/README.md).
 */
export const MAP_WINDOW_ITEMS_PER_PEER = 4096

/** Runs a peer keeps at once (live or recently ended): bounds what strangers' messages can make it hold. */
export const MAX_RUNS_PER_PEER = 64

/** A long-lived worker that died is restarted after this long, at most this often per minute (a task that kills every worker must not make the supervisor spin). */
export const WORKER_RESTART_DELAY_MS = 1000
export const WORKER_RESTARTS_PER_MINUTE = 10

/** Exit code of a long-lived worker that left to be replaced by a fresh one (--max-tasks-per-worker, --max-memory); EX_TEMPFAIL. */
export const RECYCLE_EXIT_CODE = 75

/** How often a long-lived worker checks its recycling limits. */
export const RECYCLE_CHECK_MS = 500

/** A dial that has not opened its task stream after this long fails (libp2p tries each address 6 s at most). */
export const DIAL_TIMEOUT_MS = 10_000

/**
 * A peer that offered a direct link (src/mesh/direct-link.ts) keeps the offer this long; the
 * other opens it within DIRECT_LINK_CONNECT_TIMEOUT_MS or the pair stays on libp2p's stream.
 */
export const DIRECT_LINK_OFFER_TTL_MS = 30_000
export const DIRECT_LINK_CONNECT_TIMEOUT_MS = 5000
/** How long a stopping node waits for each direct socket to send what it holds and close. */
export const DIRECT_SOCKET_CLOSE_WAIT_MS = 2000

/** A peer whose bootstrap peer cannot be reached tries again this often. */
export const BOOTSTRAP_RETRY_MS = 2000

/** An origin joining a mesh tries its --join peers this often, for up to ORIGIN_JOIN_WITHIN_MS, before it gives up. */
export const JOIN_RETRY_MS = 250
export const ORIGIN_JOIN_WITHIN_MS = 10_000
/**
 * A worker started for one run tries its origin for this long: long enough for a dial that
 * stalled (an origin busy for seconds on a loaded machine, say) to time out and be made again.
 */
export const RUN_WORKER_JOIN_WITHIN_MS = 30_000

/** After the link to a bootstrap peer drops, the first try to get it back (a restarted worker needs a moment to listen again). */
export const REJOIN_DELAY_MS = 500

/** A worker stopped with SIGTERM finishes its running tasks for at most this long before it goes (its queued ones go back at once). */
export const LEAVE_GRACE_MS = 30_000

/** ssh's ConnectTimeout for a remote host (s): a host that does not answer fails the start this soon. */
export const SSH_CONNECT_TIMEOUT_S = 10

/**
 * A remote host whose workers are not all up this long after its ssh started counts as failed:
 * room for the connect timeout, a slow prolog and node's start on a loaded node.
 */
export const REMOTE_START_TIMEOUT_MS = 60_000
