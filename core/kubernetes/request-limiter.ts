// At most `limit` requests in flight against one API server, whoever makes them: the diff of a
// thousand objects must not open a thousand connections.
export interface RequestLimiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  readonly limit: number;
}

export function createRequestLimiter(limit: number): RequestLimiter {
  const bound = Math.max(1, Math.floor(limit));
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    active -= 1;
    const next = waiting.shift();
    if (next) {
      active += 1;
      next();
    }
  };
  return {
    limit: bound,
    async run(task) {
      if (active < bound) active += 1;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}
