'use strict';
// A real, unmodified Backstage backend with the catalog plugin and its unprocessed-entities
// module (GET /api/catalog/entities/unprocessed/failed), for tests/backstage.
//
//   node tools/backstage/backend.js --config app-config.yaml [--config more.yaml]
//
// The packages come from node_modules beside this file, or from the folder that
// PAVED_BACKSTAGE_MODULES names (a node_modules folder, as .ci/run and the nox session set it).
// Backstage looks for a package.json upwards from the working folder: run it from a folder that
// has one (the tests start it in a folder of their own).
const path = require('path');
const { createRequire } = require('module');

const modules = process.env.PAVED_BACKSTAGE_MODULES || path.join(__dirname, 'node_modules');
const req = createRequire(path.join(path.resolve(modules), '..', 'package.json'));
const feature = (m) => (m && m.default) || m;

const { createBackend } = req('@backstage/backend-defaults');
const backend = createBackend();
backend.add(feature(req('@backstage/plugin-catalog-backend')));
backend.add(feature(req('@backstage/plugin-catalog-backend-module-unprocessed')));
backend.start();
