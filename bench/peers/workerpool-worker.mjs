// A workerpool worker: offers the bench's tasks to the pool in bench/peers/workerpool.mjs.
import workerpool from 'workerpool'
import { identity, piHits } from '../scripts/tasks.mjs'

workerpool.worker({ identity, piHits })
