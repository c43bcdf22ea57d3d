export function errorText(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(errorText).join('; ') || err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
