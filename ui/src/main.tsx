// Entry: the styles, the app, and the layout worker started early.
import { render } from 'preact';
import './styles.css';
import { App } from './app';
import { warmLayout } from './topology/layout';

render(<App />, document.getElementById('app')!);
warmLayout();
