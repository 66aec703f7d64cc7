// Domain errors: a few value types, mapped to Nova fault bodies in one place (api/faults.ts).

export type FaultKind =
  | 'badRequest' // 400
  | 'unauthorized' // 401
  | 'forbidden' // 403
  | 'itemNotFound' // 404
  | 'badMethod' // 405
  | 'conflictingRequest' // 409
  | 'overLimit' // 413
  | 'badMediaType' // 415
  | 'computeFault' // 406, 410, 500 …
  | 'notImplemented'; // 501

export class DomainError extends Error {
  constructor(
    readonly kind: FaultKind,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export class BadRequest extends DomainError {
  constructor(message: string) {
    super('badRequest', 400, message);
  }
}
export class Forbidden extends DomainError {
  constructor(message: string) {
    super('forbidden', 403, message);
  }
}
/** Nova answers quota failures in the servers API with 403 (not 413). */
export class QuotaExceeded extends DomainError {
  constructor(message: string) {
    super('forbidden', 403, message);
  }
}
export class NotFound extends DomainError {
  constructor(message: string) {
    super('itemNotFound', 404, message);
  }
}
export class Conflict extends DomainError {
  constructor(message: string) {
    super('conflictingRequest', 409, message);
  }
}
export class NotImplemented extends DomainError {
  constructor(message = 'The requested functionality is not supported.') {
    super('notImplemented', 501, message);
  }
}
export class Gone extends DomainError {
  constructor(message: string) {
    super('computeFault', 410, message);
  }
}
