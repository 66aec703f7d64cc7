// Prints the status map and the action table as Markdown (paste between the README markers).
import { actionTableMarkdown, statusTableMarkdown } from '../src/domain/docs.ts';

console.log(statusTableMarkdown());
console.log();
console.log(actionTableMarkdown());
