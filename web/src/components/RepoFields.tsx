import type { ReactNode } from 'react';

export const REPO_PLACEHOLDER = 'https://github.com/acme/shop.git';

/**
 * A repository's git URL and its branch, tag or commit, side by side: the new-ticket
 * form, the request editor and the repositories page. The ref waits for a URL unless
 * `refNeedsUrl` is false. `testIds` name the two inputs for the tests.
 */
export function RepoFields({
  url,
  repoRef,
  onUrl,
  onRef,
  disabled,
  testIds,
  urlLabel = (
    <>
      Repository URL <span className="muted">(optional)</span>
    </>
  ),
  refNeedsUrl = true,
}: {
  url: string;
  repoRef: string;
  onUrl(value: string): void;
  onRef(value: string): void;
  disabled: boolean;
  testIds: [string, string];
  urlLabel?: ReactNode;
  refNeedsUrl?: boolean;
}) {
  return (
    <div className="repo-form-fields">
      <label className="field repo-url">
        <span>{urlLabel}</span>
        <input
          type="text"
          value={url}
          onChange={(e) => onUrl(e.target.value)}
          placeholder={REPO_PLACEHOLDER}
          disabled={disabled}
          data-testid={testIds[0]}
        />
      </label>
      <label className="field repo-ref">
        <span>
          Branch, tag or commit <span className="muted">(optional)</span>
        </span>
        <input
          type="text"
          value={repoRef}
          onChange={(e) => onRef(e.target.value)}
          placeholder="default branch"
          disabled={disabled || (refNeedsUrl && !url.trim())}
          data-testid={testIds[1]}
        />
      </label>
    </div>
  );
}
