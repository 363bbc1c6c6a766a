// `import text from "./default.yaml" with { type: "text" }` (Bun and Deno embed the file).
declare module "*.yaml" {
  const text: string;
  export default text;
}
