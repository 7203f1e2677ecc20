/** What `llm serve` needs to start the platform, embedded or distributed (parsed from its flags). */
export interface ServeSettings {
  modelDir: string;
  host: string;
  grpcPort: number;
  httpPort: number;
  backend: 'ort' | 'ts';
  threads: number;
  kvCacheGib: number;
  blockSize: number;
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  /** Quantize the model's linear layers while loading (absent: as stored). */
  quantize?: 'q8_0' | 'q4_0';
  /** Names clients may use for the model (--served-model-name); the first is the id reported. */
  servedModelNames?: string[];
}
