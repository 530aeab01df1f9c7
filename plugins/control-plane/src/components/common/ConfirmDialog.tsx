import {
  Button,
  Dialog,
  DialogBody,
  DialogFooter,
  DialogHeader,
  Text,
} from '@backstage/ui';
import { ReactNode } from 'react';

/**
 * Asks before a consequential action. The dialog is named by its title; the confirm button
 * carries the action's own verb (e.g. "Delete"), the other one is "Back".
 */
export const ConfirmDialog = (props: {
  open: boolean;
  title: string;
  confirmLabel: string;
  destructive?: boolean;
  busy?: boolean;
  onConfirm: () => void;
  onClose: () => void;
  children: ReactNode;
}) => (
  <Dialog
    isOpen={props.open}
    onOpenChange={open => {
      if (!open) props.onClose();
    }}
    isDismissable
  >
    <DialogHeader>{props.title}</DialogHeader>
    <DialogBody>
      <Text as="div">{props.children}</Text>
    </DialogBody>
    <DialogFooter>
      <Button variant="secondary" onPress={props.onClose}>
        Back
      </Button>
      <Button
        variant="primary"
        destructive={props.destructive}
        isPending={props.busy}
        onPress={props.onConfirm}
      >
        {props.confirmLabel}
      </Button>
    </DialogFooter>
  </Dialog>
);
