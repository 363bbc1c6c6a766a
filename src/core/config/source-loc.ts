// Where a setting was written, for error messages that name file and line as nginx does.
export interface SourceLoc {
  readonly file: string;
  readonly line: number; // 1-based
  readonly col: number; // 1-based; 0 when the loader only knows the line (nginx reports lines)
}
