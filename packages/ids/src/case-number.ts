// Display numbers: <PREFIX>-<YEAR>-<8 digits> (DESIGN §12). Never used as a key.
export const CASE_NUMBER_RE = /^[A-Z]{2,8}-\d{4}-\d{8}$/;

export function formatCaseNumber(prefix: string, year: number, value: number | bigint): string {
  const digits = String(value);
  if (digits.length > 8) throw new RangeError(`case number counter overflow: ${digits}`);
  return `${prefix}-${year}-${digits.padStart(8, "0")}`;
}

export function parseCaseNumber(caseNumber: string): { prefix: string; year: number; value: number } | null {
  if (!CASE_NUMBER_RE.test(caseNumber)) return null;
  const [prefix, year, value] = caseNumber.split("-") as [string, string, string];
  return { prefix, year: Number(year), value: Number(value) };
}
