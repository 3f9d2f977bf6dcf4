// Every error scoop-node raises, one class per failure with a stable `name`: test `err.name`,
// never the message text.

export class TimeoutError extends Error {
  override name = 'TimeoutError'
}

export class CancelledError extends Error {
  override name = 'CancelledError'
}

/** A function that cannot travel to other workers: not exported from the run's module, anonymous, a closure. */
export class FunctionReferenceError extends TypeError {
  override name = 'FunctionReferenceError'
}

/** An argument, result or constant that cannot be encoded for the wire (a function, a socket, a cycle). */
export class UnencodableValueError extends TypeError {
  override name = 'UnencodableValueError'
}

/** shared.setConst of a name that is already defined somewhere in the pool. */
export class ConstantRedefinedError extends Error {
  override name = 'ConstantRedefinedError'
}

/** shared.getConst of a name that was not defined within the timeout. */
export class ConstantNotFoundError extends Error {
  override name = 'ConstantNotFoundError'
}

/** The mesh could not start, or was shut down while work was pending. */
export class MeshError extends Error {
  override name = 'MeshError'
}

/** A task was lost with several workers in a row (it likely kills them): it is not run again. */
export class TaskQuarantinedError extends Error {
  override name = 'TaskQuarantinedError'
}

/** The peer a task ran on was lost and the task could not be run again. */
export class WorkerLostError extends Error {
  override name = 'WorkerLostError'
}

export class InvalidArgumentError extends TypeError {
  override name = 'InvalidArgumentError'
}
