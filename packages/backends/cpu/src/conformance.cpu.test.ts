import { runConformance } from '@tinyvision/tensor/testing';
import { cpu } from './index.js';

// The CPU backend is the reference: it runs every case, and its skip list must stay empty.
runConformance({ backend: cpu() });
