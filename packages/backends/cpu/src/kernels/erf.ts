// The error function in double precision: a port of fdlibm's s_erf.c (Sun Microsystems, freely redistributable).

const ERX = 0.8450629115104675;
const EFX = 0.1283791670955126;
// erf on [0, 0.84375)
const PP = [
  0.12837916709551256, -0.3250421072470015, -0.02848174957559851, -0.005770270296489442,
  -0.000023763016656650163,
];
const QQ = [
  0.39791722395915535, 0.0650222499887673, 0.005081306281875766, 0.00013249473800432164,
  -0.000003960228278775368,
];
// erf on [0.84375, 1.25)
const PA = [
  -0.0023621185607526594, 0.41485611868374833, -0.3722078760357013, 0.31834661990116175, -0.11089469428239668,
  0.035478304325618236, -0.002166375594868791,
];
const QA = [
  0.10642088040084423, 0.540397917702171, 0.07182865441419627, 0.12617121980876164, 0.01363708391202905,
  0.011984499846799107,
];
// erfc on [1.25, 1/0.35)
const RA = [
  -0.009864944034847148, -0.6938585727071818, -10.558626225323291, -62.375332450326006, -162.39666946257347,
  -184.60509290671104, -81.2874355063066, -9.814329344169145,
];
const SA = [
  19.651271667439257, 137.65775414351904, 434.56587747522923, 645.3872717332679, 429.00814002756783,
  108.63500554177944, 6.570249770319282, -0.0604244152148581,
];
// erfc on [1/0.35, 6)
const RB = [
  -0.0098649429247001, -0.799283237680523, -17.757954917754752, -160.63638485582192, -637.5664433683896,
  -1025.0951316110772, -483.5191916086514,
];
const SB = [
  30.33806074348246, 325.7925129965739, 1536.729586084437, 3199.8582195085955, 2553.0504064331644,
  474.52854120695537, -22.44095244658582,
];

/** Horner evaluation of `c[0] + s·c[1] + s²·c[2] + …`. */
function poly(c: readonly number[], s: number): number {
  let r = c[c.length - 1]!;
  for (let i = c.length - 2; i >= 0; i--) r = r * s + c[i]!;
  return r;
}

/** `1 + s·q[0] + s²·q[1] + …`. */
function poly1(q: readonly number[], s: number): number {
  return 1 + s * poly(q, s);
}

/**
 * The error function, accurate to about 1 ulp in double precision (fdlibm algorithm).
 * @param x - input
 * @returns erf(x); ±1 at ±Inf, NaN for NaN
 * @example
 * ```ts
 * erfScalar(0.5); // 0.5204998778130465
 * ```
 */
export function erfScalar(x: number): number {
  if (Number.isNaN(x)) return x;
  const ax = Math.abs(x);
  const sgn = x < 0 ? -1 : 1;
  if (ax < 0.84375) {
    if (ax < 2 ** -28) return x + EFX * x;
    const z = x * x;
    return x + x * (poly(PP, z) / poly1(QQ, z));
  }
  if (ax < 1.25) return sgn * (ERX + poly(PA, ax - 1) / poly1(QA, ax - 1));
  if (ax >= 6) return sgn;
  const s = 1 / (ax * ax);
  const rs = ax < 1 / 0.35 ? poly(RA, s) / poly1(SA, s) : poly(RB, s) / poly1(SB, s);
  // z is ax with a short significand so that z*z is exact (fdlibm zeroes the low word).
  const z = Math.fround(ax);
  const r = Math.exp(-z * z - 0.5625) * Math.exp((z - ax) * (z + ax) + rs);
  return sgn * (1 - r / ax);
}
