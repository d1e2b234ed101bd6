// One closed enum of error codes and their HTTP statuses (CONTRACT.md "Error codes").
// Domain code throws DomainError with a code; transports turn it into RFC 9457 problem+json.

export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  VERSION_CONFLICT: 409,
  STATUS_PRECONDITION_FAILED: 409,
  STALE_REGION_EPOCH: 409,
  WRONG_REGION: 421,
  INVALID_TRANSITION: 422,
  IDEMPOTENCY_KEY_REUSED: 422,
  TENANT_SUSPENDED: 423,
  RESIDENCY_VIOLATION: 451,
  REGION_READ_ONLY: 503,
  REGION_UNAVAILABLE: 503,
  TENANT_MIGRATING: 503,
  CATALOG_UNAVAILABLE: 503,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export const ERROR_CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

export const ERROR_TITLES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: "The request is malformed",
  UNAUTHENTICATED: "Authentication is required",
  FORBIDDEN: "Not allowed",
  NOT_FOUND: "Not found",
  VERSION_CONFLICT: "The aggregate changed since the expected version",
  STATUS_PRECONDITION_FAILED: "The current status differs from the expected status",
  STALE_REGION_EPOCH: "The command carried an old region epoch",
  WRONG_REGION: "This region is not the owner",
  INVALID_TRANSITION: "The status machine forbids this transition",
  IDEMPOTENCY_KEY_REUSED: "The idempotency key was used with a different request",
  TENANT_SUSPENDED: "The tenant is suspended",
  RESIDENCY_VIOLATION: "The residency policy forbids this",
  REGION_READ_ONLY: "The region or scope is not writable",
  REGION_UNAVAILABLE: "The home region is unavailable",
  TENANT_MIGRATING: "The tenant is being migrated",
  CATALOG_UNAVAILABLE: "The routing catalog is unavailable",
  PAYLOAD_TOO_LARGE: "The request body is too large",
  RATE_LIMITED: "Too many requests",
  INTERNAL: "Internal error",
};

/** Extensions a problem may carry, named as in CONTRACT.md. */
export interface ProblemExtensions {
  issues?: { path: (string | number)[]; message: string; code?: string }[];
  currentVersion?: number;
  currentStatus?: string;
  homeRegion?: string;
  currentEpoch?: number;
  allowed?: string[];
  policy?: string;
  targetRegion?: string;
  region?: string;
  retryAfterSeconds?: number;
  requestId?: string;
  correlationId?: string;
}

export interface Problem extends ProblemExtensions {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
}

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export function problemOf(code: ErrorCode, detail: string, ext: ProblemExtensions = {}): Problem {
  return {
    type: `https://homeroute.dev/problems/${code.toLowerCase().replace(/_/g, "-")}`,
    title: ERROR_TITLES[code],
    status: ERROR_STATUS[code],
    detail,
    code,
    ...ext,
  };
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly ext: ProblemExtensions;
  constructor(code: ErrorCode, detail: string, ext: ProblemExtensions = {}) {
    super(detail);
    this.name = "DomainError";
    this.code = code;
    this.ext = ext;
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
  toProblem(): Problem {
    return problemOf(this.code, this.message, this.ext);
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}
