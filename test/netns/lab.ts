/**
 * The netns lab lives in product code now (`weft demo` builds its cluster on
 * it): router/demo/lab.ts. Tests keep importing it from here.
 */
export * from '../../router/demo/lab.js';
