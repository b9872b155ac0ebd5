/** How an error reads on screen: the SDK's stable code first, then its message. */
export interface ErrorReport {
  code: string | undefined;
  message: string;
}

export function describeError(error: unknown): ErrorReport {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { code: typeof code === 'string' ? code : undefined, message: error.message };
  }
  return { code: undefined, message: String(error) };
}
