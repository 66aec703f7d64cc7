// Prints the block storage tables as Markdown (paste between the README's volume-table markers).
import { volumeActionTableMarkdown, volumeCreateTableMarkdown } from '../src/domain/volume/docs.ts';

console.log(volumeCreateTableMarkdown());
console.log();
console.log(volumeActionTableMarkdown());
