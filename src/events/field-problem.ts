/** One reason a body was refused: what validation of either flow reports, field by field. */
export interface FieldProblem {
  /** JSON path of the failing field, e.g. "extracted_data" or "tool_calls.3". */
  path: string;
  message: string;
}
