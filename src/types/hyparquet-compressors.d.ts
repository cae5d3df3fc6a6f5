/** Types for `hyparquet-compressors` (the package ships none): the decompressors hyparquet accepts. */
declare module 'hyparquet-compressors' {
  export const compressors: import('hyparquet').Compressors;
}
