// Image geometry shared by the implicit-im2col packers (f32 and int8): 12 i32 slots.
export const GEO: usize = memory.data(12 * 4, 16);

/** Sets the geometry: channels, height, width, kernel, strides, pads (top, left), dilations, output width. */
export function setConvGeometry(
  c: i32,
  h: i32,
  w: i32,
  kh: i32,
  kw: i32,
  sh: i32,
  sw: i32,
  pt: i32,
  pl: i32,
  dh: i32,
  dw: i32,
  ow: i32,
): void {
  store<i32>(GEO, c, 0);
  store<i32>(GEO, h, 4);
  store<i32>(GEO, w, 8);
  store<i32>(GEO, kh, 12);
  store<i32>(GEO, kw, 16);
  store<i32>(GEO, sh, 20);
  store<i32>(GEO, sw, 24);
  store<i32>(GEO, pt, 28);
  store<i32>(GEO, pl, 32);
  store<i32>(GEO, dh, 36);
  store<i32>(GEO, dw, 40);
  store<i32>(GEO, ow, 44);
}
