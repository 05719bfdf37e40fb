//! LM003 `unused-heavy-import`: a heavy package imported at module level of a Lambda service
//! and never used in that file.

use crate::audit::rules::prelude::*;

pub static RULE: Rule = Rule {
    code: "LM003",
    name: "unused-heavy-import",
    principle: Principle::P11,
    severity: Severity::Info,
    kinds: &[Kind::Lambda],
    reach: Reach::Services,
    help: "remove the import, or import it lazily inside the function that needs it",
    doc: r#"## What it does
Reports module-level imports of heavy packages (pandas, numpy, scipy, scikit-learn,
torch, tensorflow, matplotlib, boto3/botocore, sqlalchemy, and similar) in a Lambda
service's code when the imported name is never used in that file.

Imports inside functions (lazy imports), imports under `if TYPE_CHECKING:`, package
`__init__.py` files (often re-exports), tests and scripts are not reported.

## Why is this bad?
Every module-level import runs during the Lambda init phase of each new execution
environment, before the first event is handled. pandas or numpy add hundreds of
milliseconds, torch or tensorflow whole seconds, and boto3 around 100 ms; an import nobody
uses pays that cold-start cost (and the package size) for nothing.

## Example
```python
import pandas as pd
from mangum import Mangum

from app.main import app

handler = Mangum(app, lifespan="off")
```

## How to fix
```python
from mangum import Mangum

from app.main import app

handler = Mangum(app, lifespan="off")
```
If one code path needs the package, import it inside that function.
"#,
    check,
};

/// Top-level packages whose import costs noticeable cold-start time.
const HEAVY: &[&str] = &[
    "pandas",
    "numpy",
    "scipy",
    "sklearn",
    "torch",
    "tensorflow",
    "keras",
    "matplotlib",
    "seaborn",
    "plotly",
    "polars",
    "pyarrow",
    "boto3",
    "botocore",
    "sqlalchemy",
    "transformers",
    "spacy",
    "nltk",
    "cv2",
    "PIL",
];

fn check(cx: &Context, sink: &mut Sink) {
    for (file, source, code) in cx.service_code() {
        if source.rel.rsplit('/').next() == Some("__init__.py") {
            continue;
        }
        for import in &code.imports {
            if import.used || import.func.is_some() || import.type_checking {
                continue;
            }
            let package = import.target.split('.').next().unwrap_or(&import.target);
            if HEAVY.contains(&package) {
                let what = if *import.local == *package {
                    format!("`{package}`")
                } else {
                    format!("`{}` (from `{package}`)", import.local)
                };
                sink.report(
                    Loc { file, range: import.range },
                    format!("{what} is imported at module level but never used in this file: it slows every cold start"),
                );
            }
        }
    }
}
