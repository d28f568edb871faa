// TypeDoc plugin: names each entry-point module after the package subpath it is published as
// ("@tinyvision/tensor", "@tinyvision/tensor/testing") instead of its folder ("tensor/src").
// The name comes from the nearest package.json: its "name" plus the "exports" key whose
// "@tinyvision/source" condition points at the entry file.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { Converter, ReflectionKind } from 'typedoc';

function packageSubpath(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (!existsSync(pj)) continue;
    const pkg = JSON.parse(readFileSync(pj, 'utf8'));
    const rel = `./${relative(dir, file).split(sep).join('/')}`;
    for (const [key, target] of Object.entries(pkg.exports ?? {})) {
      if (typeof target === 'object' && target['@tinyvision/source'] === rel) {
        return key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
      }
    }
    return undefined;
  }
  return undefined;
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (reflection.kind !== ReflectionKind.Module || reflection.parent !== context.project) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName;
    const name = file && packageSubpath(file);
    if (name) reflection.name = name;
  });
}
